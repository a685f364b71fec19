"""The hybrid recommender: a repeat score for products the customer bought, an explore score for the rest.

Shop customers re-buy (tea, snacks, refills), so "what this customer already buys" beats plain
collaborative filtering on next-basket accuracy; ALS and the neighbours' baskets still find the products
the customer has not bought yet but people with the same taste do. The two kinds of candidate are scored
apart (Li et al., "A Next Basket Recommendation Reality Check", TOIS 2023) because one blend over all
products let history drown every new product: ALS's own best scores are mostly on products already bought,
so after scaling by the customer's best, new products kept tiny ALS scores (real data: explore NDCG@10 of
the single blend 0.0054 vs plain ALS 0.0472). Components are scaled to [0, 1] per customer over the
candidates of their own kind, then:

    repeat  = scale(history_weight * history + als_weight * als + popularity_weight * popularity
                    + neighbour_weight * neighbours)                                       (bought products)
    explore = explore_weight * scale(als + explore_neighbour_weight * neighbours
                                     + explore_popularity_weight * popularity)            (other products)

where ``scale`` divides by the customer's best, so the best repeat candidate scores 1 and the best new
product ``explore_weight``. Before scaling, every part of a product's score is multiplied by its seasonal
lift (recent vs long-run share of purchases, ``seasonal_lift`` in params.py). All weights were chosen on
the real data's validation split (params.py). In discovery mode (bought products excluded) the ranking is
the explore score alone. ``explore_weight`` sets how many new products reach a re-buy list: the validation
search kept it small (0.1; 0.4 lost 2.3 % of validation NDCG@10), since on the real file a customer's tenth re-buy
candidate is still likelier than their best new product, so the gain of scoring apart shows in discovery
and in what each score is made of, not in more new products in the re-buy top 10.

* history = repeat_rate(product) * decayed purchase days: frequency x recency times how often buyers of
  that product buy it again (a durable bought once is unlikely to be bought again, a consumable is).
  Linear in the decayed count, so a product bought on twelve days ranks above one bought on three: an
  earlier saturating form, 1 - exp(-days), flattened exactly that and lost to the plain repurchase
  baseline once customers had a year of history (``evaluate`` on generated data, 10M events over 365
  days: NDCG@10 0.069 vs 0.220 repurchase; this form 0.230);
* als = max(0, user . item);
* popularity = purchase days over all customers decayed with ``popularity_half_life_days`` (what sells now);
* neighbours (``neighbour_weight`` > 0) = the mean history of the customer's most similar customers
  (TIFU-KNN, Hu et al. 2020): what people who buy like this customer re-buy (neighbours.py).

The source of a recommendation is the component contributing most to its score.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import scipy.sparse as sp

from hashiramart_assets.ml.recommender.als import fit_als
from hashiramart_assets.ml.recommender.base import ALS, HISTORY, NEIGHBOURS, POPULAR, Recommender, SourcesAt
from hashiramart_assets.ml.recommender.data import TrainingData, build_training_data
from hashiramart_assets.ml.recommender.interactions import (
    DEFAULT_WEIGHTS,
    InteractionWeights,
    as_of_date,
    build_interactions,
)
from hashiramart_assets.ml.recommender.neighbours import NeighbourIndex
from hashiramart_assets.ml.recommender.params import RecommenderParams


def dense_rows(matrix: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """``matrix[rows].toarray()``; one row (a serving request) read straight from the CSR arrays, which is ten
    times cheaper than scipy's fancy indexing (duplicates summed in stored order, like ``toarray``)."""
    if len(rows) != 1:
        return matrix[rows].toarray()
    start, end = matrix.indptr[rows[0]], matrix.indptr[rows[0] + 1]
    values = np.bincount(matrix.indices[start:end], weights=matrix.data[start:end], minlength=matrix.shape[1])
    return values.astype(matrix.dtype, copy=False)[None, :]


def row_max_scale(values: np.ndarray) -> np.ndarray:
    """Each row divided by its maximum (rows whose maximum is <= 0 become zeros)."""
    top = values.max(axis=1, keepdims=True) if values.shape[1] else np.zeros((len(values), 1))
    return np.where(top > 0, values / np.where(top > 0, top, 1.0), 0.0)


def scale_within(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``values`` where ``mask`` (0 elsewhere), each row divided by its maximum there (non-negative input).

    Why per kind of candidate: the best new product of a customer should score 1 on a component even when
    products they already bought score far higher on it.
    """
    return row_max_scale(np.where(mask, values, 0.0))


def row_best(values: np.ndarray) -> np.ndarray:
    """Each row's maximum as a column, 1 where it is <= 0 (such rows are all zeros: nothing to scale).

    The repeat and the explore parts are each divided by their own sum's best, so each kind's best
    candidate scores exactly 1 (times ``explore_weight`` for explore) and every part keeps its share of
    the score, which names the source.
    """
    top = values.max(axis=1, keepdims=True) if values.shape[1] else np.zeros((len(values), 1))
    return np.where(top > 0, top, 1.0)


class HybridRecommender(Recommender):
    """Repeat score for bought products, explore score for the rest; fit on interactions and order lines."""

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
            interactions, orders, as_of, self.params.history_half_life_days, self.params.repeat_prior,
            self.params.popularity_half_life_days,
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

    def neighbour_component(self, rows: np.ndarray) -> np.ndarray:
        """Mean decayed history of each customer's ``neighbours_k`` most similar customers, in [0, 1].

        The normalised history is built once per fitted model and kept (``NeighbourIndex``), not per call:
        serving calls this for one customer per request. It is left out of the pickle (``__getstate__``).
        """
        index = self.__dict__.get("_neighbour_index")
        if index is None or index.history is not self.fitted.history:
            index = NeighbourIndex(self.fitted.history)
            self._neighbour_index = index
        return index.scores(rows, self.params.neighbours_k)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state.pop("_neighbour_index", None)  # derived from fitted.history: rebuilt on first use
        return state

    def _popularity_scores(self) -> np.ndarray:
        """Recent popularity scaled to [0, 1]; models saved before it existed use the fallback's."""
        recent = self.fitted.recent_popularity
        if recent is None:
            return self.fallback_scores()
        top = recent.max() if len(recent) else 0.0
        return recent / top if top > 0 else np.zeros_like(recent)

    def _seasonal_lift(self) -> np.ndarray:
        """Per product ``lift ** seasonal_lift`` (params.py): recent vs long-run share of purchase days, smoothed.

        Ones when turned off or for models saved without recent popularity. Every part of a product's score
        is multiplied by the same factor, so the source (the largest part) does not change.
        """
        data, p = self.fitted, self.params
        recent, usual = data.recent_popularity, data.popularity
        if recent is None or p.seasonal_lift == 0 or not len(usual) or recent.sum() <= 0 or usual.sum() <= 0:
            return np.ones(len(usual))
        prior = p.seasonal_lift_prior / len(usual)
        return ((recent / recent.sum() + prior) / (usual / usual.sum() + prior)) ** p.seasonal_lift

    def blend(self, rows: np.ndarray) -> np.ndarray:
        """Weighted parts (4, len(rows), n_products) in the order of ``SOURCES``; their sum is the score.

        Public so the serving fast path (serving/recommend.py) ranks exactly as ``recommend`` does.
        """
        p = self.params
        data = self.fitted
        assert self.user_factors is not None and self.item_factors is not None
        bought = dense_rows(data.purchase_days, rows) > 0
        history = data.repeat_rate * dense_rows(data.history, rows)
        als = np.maximum(self.user_factors[rows] @ self.item_factors.T, 0.0).astype(np.float64)
        popularity = np.broadcast_to(self._popularity_scores(), bought.shape)
        wants_neighbours = p.neighbour_weight > 0 or p.explore_neighbour_weight > 0
        neighbours = self.neighbour_component(rows) if wants_neighbours else np.zeros(bought.shape)
        repeat = [p.history_weight * scale_within(history, bought), p.als_weight * scale_within(als, bought),
                  p.popularity_weight * np.where(bought, popularity, 0.0),
                  p.neighbour_weight * scale_within(neighbours, bought)]
        explore = [np.zeros(bought.shape), scale_within(als, ~bought),
                   p.explore_popularity_weight * np.where(bought, 0.0, popularity),
                   p.explore_neighbour_weight * scale_within(neighbours, ~bought)]
        lift = self._seasonal_lift()
        repeat, explore = [part * lift for part in repeat], [part * lift for part in explore]
        # typeshed's sum() may return its start 0; the lists are never empty, so it returns an array
        repeat_scale = 1.0 / row_best(sum(repeat))  # type: ignore[arg-type]
        explore_scale = p.explore_weight / row_best(sum(explore))  # type: ignore[arg-type]
        return np.stack([r * repeat_scale + e * explore_scale for r, e in zip(repeat, explore, strict=True)])

    def _score_block(self, rows: np.ndarray) -> tuple[np.ndarray, SourcesAt]:
        parts = self.blend(rows)
        assert (HISTORY, ALS, POPULAR, NEIGHBOURS) == (0, 1, 2, 3)  # the order of ``parts``
        scores = parts.sum(axis=0)

        def sources_at(items: np.ndarray) -> np.ndarray:
            chosen = np.stack([np.take_along_axis(part, items, axis=1) for part in parts])
            return np.where(chosen.max(axis=0) > 0, np.argmax(chosen, axis=0), POPULAR)

        return scores, sources_at
