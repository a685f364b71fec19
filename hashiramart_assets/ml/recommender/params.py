"""Hyperparameters of the hybrid recommender, in one frozen record that round-trips through MLflow params.

MLflow stores params as strings, so ``from_dict`` converts each value back to the field's type (pydantic);
a run's logged params are then enough to refit the very same model. The record is also the
``models/recommender`` asset's Dagster config (``RecommenderConfig`` inherits it, see ml/params.py).
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field

from hashiramart_assets.ml.params import ModelParams

AlsWeighting = Literal["none", "log", "bm25"]
ALS_WEIGHTINGS = get_args(AlsWeighting)


class RecommenderParams(ModelParams):
    """ALS, history, popularity and repeat/explore blend settings; ``seed`` fixes ALS initialisation.

    The ALS, popularity, seasonal-lift, blend and explore defaults are the winner of the coordinate search
    in benchmarks/bench_recommender_real.py on the VALIDATION split of the real Online Retail file (each
    repeat buyer's last purchase day before the test day; the test split is scored once, after choosing),
    among the settings that stay at least as good as the previous defaults on generated data (60k and 200k
    events: NDCG@10 / discovery NDCG@10 >= 0.5035 / 0.3275 and 0.4578 / 0.3167). Figures
    (benchmarks/reports/recommender_real.md):

    * validation: hybrid P@10 0.2631 / NDCG@10 0.3284 vs repurchase 0.2451 / 0.3080 (+7.3 % / +6.6 %);
      discovery NDCG@10 0.1054 vs plain ALS 0.0945; generated 60k 0.5148 / 0.3432, 200k 0.4578 / 0.3239;
    * test ("validation winner"): hybrid P@10 0.2431 / NDCG@10 0.3190 vs repurchase 0.2244 / 0.2976
      (+8.3 % / +7.2 %); discovery 0.1048 vs plain ALS 0.0927 (before: 0.2350 / 0.3071, +4.7 % / +3.2 %,
      discovery 0.0912 vs 0.083). The report's "defaults" row is the previous search round's winner, the
      same but regularization 1.0 (test +8.3 % / +7.2 %, discovery 0.1045 vs 0.0931).

    What the guard costs: a full seasonal lift (1.0, prior 4) scores test P@10 / NDCG@10 +10.4 % / +9.2 %
    over repurchase but loses 0.4 % of NDCG@10 at 200k generated events (0.4559 vs 0.4578).
    The history half-life of a year was chosen earlier on generated data at four scales (60k to 10M events):
    the one setting that beat the repurchase baseline at all four (90 days lost at 10M: 0.2196 vs 0.2200).
    It also sets the cold-start fallback's popularity.
    """

    # implicit ALS (the discovery signal, and a minor part of the re-buy score)
    factors: int = Field(default=16, ge=1)
    regularization: float = Field(default=0.1, gt=0)
    iterations: int = Field(default=15, ge=1)
    alpha: float = Field(default=1.0, gt=0)
    # how the interaction matrix is turned into ALS confidences (als.weight_matrix): "none" (the weights
    # as built), "log" (log1p of them) or "bm25" (implicit's bm25_weight with bm25_k1 and bm25_b)
    als_weighting: AlsWeighting = "log"
    bm25_k1: float = Field(default=100.0, ge=0)
    bm25_b: float = Field(default=0.8, ge=0, le=1)
    # own purchase history (re-buy component): frequency of purchase days x recency decay
    history_half_life_days: float = Field(default=365.0, gt=0)
    # smoothing of the per-product repeat rate (share of buyers who bought it on two or more days)
    repeat_prior: float = Field(default=5.0, ge=0)
    # repeat score, over the products the customer bought (model.py): history_weight * history
    # + als_weight * als + popularity_weight * popularity + neighbour_weight * neighbours, each component
    # scaled to [0, 1] over those products first, the sum scaled so the customer's best is 1
    history_weight: float = Field(default=1.0, ge=0)
    als_weight: float = Field(default=0.3, ge=0)
    popularity_weight: float = Field(default=0.1, ge=0)
    # neighbour baskets (TIFU-KNN): the mean history of the customer's 50 most similar customers; 0 turns it off
    neighbour_weight: float = Field(default=0.5, ge=0)
    neighbours_k: int = Field(default=50, ge=1)
    # popularity in both scores: recency-weighted purchase days with this half-life (a short one follows
    # the season); the cold-start fallback keeps the history half-life
    popularity_half_life_days: float = Field(default=30.0, gt=0)
    # explore score, over the products the customer never bought: als + explore_neighbour_weight * neighbours
    # + explore_popularity_weight * popularity (each scaled to [0, 1] over those products), scaled so its
    # best is 1, then multiplied by explore_weight: the best new product outranks a re-buy candidate whose
    # repeat score is below explore_weight (must be > 0, or discovery lists would tie everywhere)
    explore_weight: float = Field(default=0.1, gt=0)
    explore_neighbour_weight: float = Field(default=0.5, ge=0)
    explore_popularity_weight: float = Field(default=0.3, ge=0)
    # seasonal lift: both scores multiplied by lift ** seasonal_lift, lift = (recent share + e) / (long-run share + e)
    # of the product's purchase days (popularity_half_life_days vs history_half_life_days), e =
    # seasonal_lift_prior / n_products: what sells more now than it usually does (Christmas stock in November)
    # is likelier in the next basket; a product with no sales history gets lift 1. 0 turns it off.
    seasonal_lift: float = Field(default=0.5, ge=0)
    seasonal_lift_prior: float = Field(default=4.0, gt=0)
    seed: int = Field(default=42, ge=0)
