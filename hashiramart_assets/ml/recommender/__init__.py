"""Product recommender: a hybrid of own purchase history, implicit ALS and popularity.

Plain pandas/numpy (no Dagster): the assets and the MLflow logging call these functions.
"""

from hashiramart_assets.ml.recommender.base import RECOMMENDATION_COLUMNS, Recommender
from hashiramart_assets.ml.recommender.baselines import AlsRecommender, PopularRecommender, RepurchaseRecommender
from hashiramart_assets.ml.recommender.batch import BATCH_COLUMNS, top_n_for_all
from hashiramart_assets.ml.recommender.data import TrainingData, build_training_data
from hashiramart_assets.ml.recommender.evaluate import Evaluation, evaluate, segment_metrics_dict
from hashiramart_assets.ml.recommender.interactions import InteractionWeights, as_of_date, build_interactions
from hashiramart_assets.ml.recommender.model import HybridRecommender
from hashiramart_assets.ml.recommender.params import RecommenderParams
from hashiramart_assets.ml.recommender.persistence import load_model, save_model
from hashiramart_assets.ml.recommender.split import HoldoutSplit, holdout_split

__all__ = [
    "BATCH_COLUMNS",
    "RECOMMENDATION_COLUMNS",
    "AlsRecommender",
    "Evaluation",
    "HoldoutSplit",
    "HybridRecommender",
    "InteractionWeights",
    "PopularRecommender",
    "Recommender",
    "RecommenderParams",
    "RepurchaseRecommender",
    "TrainingData",
    "as_of_date",
    "build_interactions",
    "build_training_data",
    "evaluate",
    "holdout_split",
    "load_model",
    "save_model",
    "segment_metrics_dict",
    "top_n_for_all",
]
