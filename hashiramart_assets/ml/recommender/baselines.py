"""Baselines the hybrid has to beat, on the very same training matrices and ranking code.

* popular: everyone gets the most popular products;
* repurchase: the customer's own most-bought products (by purchase days), then popular ones;
* plain ALS: implicit ALS with the hybrid's hyperparameters and no history or popularity blend.
"""

from __future__ import annotations

import numpy as np

from hashiramart_assets.ml.recommender.als import fit_als
from hashiramart_assets.ml.recommender.base import ALS, HISTORY, POPULAR, Recommender, SourcesAt
from hashiramart_assets.ml.recommender.data import TrainingData
from hashiramart_assets.ml.recommender.params import RecommenderParams


class PopularRecommender(Recommender):
    name = "popular"

    def fit_data(self, data: TrainingData) -> PopularRecommender:
        self.data = data
        return self

    def _score_block(self, rows: np.ndarray) -> tuple[np.ndarray, SourcesAt]:
        scores = np.tile(self.fallback_scores(), (len(rows), 1))
        return scores, lambda items: np.full(items.shape, POPULAR)


class RepurchaseRecommender(Recommender):
    name = "repurchase"

    def fit_data(self, data: TrainingData) -> RepurchaseRecommender:
        self.data = data
        return self

    def _score_block(self, rows: np.ndarray) -> tuple[np.ndarray, SourcesAt]:
        days = self.fitted.purchase_days[rows].toarray()
        # popularity (in [0, 1]) only breaks ties between equally often bought products and fills up
        scores = days + 0.5 * self.fallback_scores()
        return scores, lambda items: np.where(np.take_along_axis(days, items, axis=1) > 0, HISTORY, POPULAR)


class AlsRecommender(Recommender):
    name = "als"

    def __init__(self, params: RecommenderParams | None = None) -> None:
        super().__init__()
        self.params = params or RecommenderParams()
        self.user_factors: np.ndarray | None = None
        self.item_factors: np.ndarray | None = None

    def fit_data(self, data: TrainingData) -> AlsRecommender:
        self.data = data
        self.user_factors, self.item_factors = fit_als(data.weights, self.params)
        return self

    def with_factors(self, data: TrainingData, user_factors: np.ndarray, item_factors: np.ndarray) -> AlsRecommender:
        """Take the factors of an ALS fit already made on ``data`` with these params (the hybrid's).

        Why: the fit is deterministic (see als.py), so fitting again would give bit-identical factors; at
        10M events a second fit costs tens of seconds of the evaluation.
        """
        self.data = data
        self.user_factors, self.item_factors = user_factors, item_factors
        return self

    def _score_block(self, rows: np.ndarray) -> tuple[np.ndarray, SourcesAt]:
        assert self.user_factors is not None and self.item_factors is not None
        scores = (self.user_factors[rows] @ self.item_factors.T).astype(np.float64)
        return scores, lambda items: np.full(items.shape, ALS)
