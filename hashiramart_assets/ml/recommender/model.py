"""The hybrid recommender: own purchase history first, implicit ALS for discovery, popularity to fill.

Shop customers re-buy (tea, snacks, refills), so "what this customer already buys" beats plain
collaborative filtering on next-basket accuracy; ALS still finds the products the customer has not
bought yet but people with the same taste do. Each component is scaled to [0, 1] and blended:

    score = history_weight * history + als_weight * als + popularity_weight * popularity
            + neighbour_weight * neighbours

* history = repeat_rate(product) * decayed purchase days / the customer's best such value: frequency x
  recency times how often buyers of that product buy it again (a durable bought once is unlikely to be
  bought again, a consumable is). Linear in the decayed count, so a product bought on twelve days
  ranks above one bought on three: an earlier saturating form, 1 - exp(-days), flattened exactly
  that and lost to the plain repurchase baseline once customers had a year of history (``evaluate`` on
  generated data, 10M events over 365 days: NDCG@10 0.069 vs 0.220 repurchase; this form 0.230);
* als = max(0, user . item) / the customer's best ALS score;
* popularity = recency-weighted purchase days over all customers / the best product's;
* neighbours (``neighbour_weight`` > 0) = the mean history of the customer's most similar customers
  (TIFU-KNN, Hu et al. 2020): what people who buy like this customer re-buy (neighbours.py).

The source of a recommendation is the component contributing most to its score.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from hashiramart_assets.ml.recommender.als import fit_als
from hashiramart_assets.ml.recommender.base import ALS, HISTORY, NEIGHBOURS, POPULAR, Recommender, SourcesAt
from hashiramart_assets.ml.recommender.data import TrainingData, build_training_data
from hashiramart_assets.ml.recommender.interactions import (
    DEFAULT_WEIGHTS,
    InteractionWeights,
    as_of_date,
    build_interactions,
)
from hashiramart_assets.ml.recommender.neighbours import neighbour_scores
from hashiramart_assets.ml.recommender.params import RecommenderParams


def row_max_scale(values: np.ndarray) -> np.ndarray:
    """Each row divided by its maximum (rows whose maximum is <= 0 become zeros)."""
    top = values.max(axis=1, keepdims=True) if values.shape[1] else np.zeros((len(values), 1))
    return np.where(top > 0, values / np.where(top > 0, top, 1.0), 0.0)


class HybridRecommender(Recommender):
    """History + ALS + popularity blend; fit on interactions and order lines, then ``recommend``."""

    name = "hybrid"

    def __init__(self, params: RecommenderParams | None = None) -> None:
        super().__init__()
        self.params = params or RecommenderParams()
        self.user_factors: np.ndarray | None = None
        self.item_factors: np.ndarray | None = None

    def fit(self, interactions: pd.DataFrame, orders: pd.DataFrame, as_of: date | None = None) -> HybridRecommender:
        """Fit from the ``features/interactions`` table and raw order lines (purchase history).

        ``as_of`` (the "today" of the recency decay) defaults to the newest day of orders or interactions,
        the ``as_of`` the Spark features asset used.
        """
        if as_of is None:
            as_of = as_of_date(orders, interactions.rename(columns={"last_interaction_ts": "event_ts"}))
        data = build_training_data(
            interactions, orders, as_of, self.params.history_half_life_days, self.params.repeat_prior
        )
        return self.fit_data(data)

    def fit_raw(
        self, orders: pd.DataFrame, events: pd.DataFrame, weights: InteractionWeights = DEFAULT_WEIGHTS
    ) -> HybridRecommender:
        """Fit from raw orders and events: interactions are built here exactly as the Spark asset does."""
        as_of = as_of_date(orders, events)
        return self.fit(build_interactions(orders, events, as_of, weights), orders, as_of)

    def fit_data(self, data: TrainingData) -> HybridRecommender:
        """Fit on prepared matrices (shared with the baselines during evaluation)."""
        self.data = data
        self.user_factors, self.item_factors = fit_als(data.weights, self.params)
        return self

    def component_scores(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(history, als, popularity), each (len(rows), n_products) in [0, 1], before blend weights."""
        data = self.fitted
        assert self.user_factors is not None and self.item_factors is not None
        history = row_max_scale(data.repeat_rate * data.history[rows].toarray())
        als = row_max_scale(self.user_factors[rows] @ self.item_factors.T)
        popularity = np.broadcast_to(self._fallback_scores(), history.shape)
        return history, als, popularity

    def neighbour_component(self, rows: np.ndarray) -> np.ndarray:
        """Mean decayed history of each customer's ``neighbours_k`` most similar customers, in [0, 1]."""
        return neighbour_scores(self.fitted.history, rows, self.params.neighbours_k)

    def _score_block(self, rows: np.ndarray) -> tuple[np.ndarray, SourcesAt]:
        p = self.params
        history, als, _ = self.component_scores(rows)
        history, als = p.history_weight * history, p.als_weight * als
        popularity = p.popularity_weight * self._fallback_scores()  # one row, the same for every customer
        neighbours = p.neighbour_weight * self.neighbour_component(rows) if p.neighbour_weight > 0 \
            else np.zeros_like(history)
        scores = history + als + neighbours + popularity

        def sources_at(items: np.ndarray) -> np.ndarray:
            parts = np.stack([np.take_along_axis(history, items, axis=1), np.take_along_axis(als, items, axis=1),
                              np.broadcast_to(popularity[items], items.shape),
                              np.take_along_axis(neighbours, items, axis=1)])
            assert (HISTORY, ALS, POPULAR, NEIGHBOURS) == (0, 1, 2, 3)  # order of ``parts``
            return np.where(parts.max(axis=0) > 0, np.argmax(parts, axis=0), POPULAR)

        return scores, sources_at
