"""Per-request recommendations for one customer, from the champion's in-memory matrices.

Why not ``HybridRecommender.recommend``: it is built for batches and returns a DataFrame, which costs
about a millisecond per call; one customer only needs one row of scores. This scorer uses the model's
public ``blend`` (the weighted parts of its score), so its ranking is the model's (a test compares
them); any other recommender class falls back to ``recommend``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hashiramart_assets.ml.recommender.base import POPULAR, SOURCES, Recommender
from hashiramart_assets.ml.recommender.model import HybridRecommender

MAX_K = 100


@dataclass(frozen=True)
class Recommendation:
    rank: int
    product_id: str
    score: float
    source: str


def top_k_stable(scores: np.ndarray, k: int) -> np.ndarray:
    """``np.argsort(-scores, kind="stable")[:k]`` without sorting every product: the k-th best by partition,
    then a stable sort of the items at or above it (ties stay in index order, as in the full sort)."""
    negated = -scores
    if k >= len(negated):
        return np.argsort(negated, kind="stable")
    kth = np.partition(negated, k - 1)[k - 1]
    candidates = np.flatnonzero(negated <= kth)
    return candidates[np.argsort(negated[candidates], kind="stable")][:k]


class FastRecommender:
    """Wraps one loaded model version; immutable after construction, so requests never need a lock."""

    def __init__(self, model: Recommender) -> None:
        self.model = model
        data = model.fitted
        self.customer_ids = data.customer_ids
        self.product_ids = data.product_ids.astype(str)
        self.n_products = len(self.product_ids)
        self.purchases = data.purchase_days.tocsr()
        self.hybrid = isinstance(model, HybridRecommender)
        fallback = model.fallback_scores()
        order = np.argsort(-fallback, kind="stable")
        self._fallback = [(int(j), float(fallback[j])) for j in order[:MAX_K]]
        if self.hybrid and len(self.customer_ids):
            self._score_row(0)  # builds what the model keeps between calls (its neighbour index) before traffic

    def row_of(self, customer_id: int) -> int:
        """Row of a known customer, -1 for an unknown one (cold start)."""
        ids = self.customer_ids
        pos = int(np.searchsorted(ids, customer_id))
        return pos if pos < len(ids) and int(ids[pos]) == customer_id else -1

    def recommend(self, customer_id: int, k: int, exclude_purchased: bool = False) -> tuple[list[Recommendation], bool]:
        """(top-k recommendations, is_fallback)."""
        k = max(1, min(int(k), self.n_products, MAX_K))
        row = self.row_of(customer_id)
        if row < 0:
            return [Recommendation(i + 1, self.product_ids[j], s, "popular")
                    for i, (j, s) in enumerate(self._fallback[:k])], True
        if not self.hybrid:
            return self._via_model(customer_id, k, exclude_purchased), False
        parts = self._score_row(row)
        scores = parts.sum(axis=0)
        if exclude_purchased:
            start, end = self.purchases.indptr[row], self.purchases.indptr[row + 1]
            scores[self.purchases.indices[start:end]] = -np.inf
        order = top_k_stable(scores, k)
        chosen = parts[:, order]  # the source of an item: its largest part (as HybridRecommender._score_block)
        sources = np.where(chosen.max(axis=0) > 0, np.argmax(chosen, axis=0), POPULAR)
        out: list[Recommendation] = []
        for j, source in zip(order, sources, strict=True):
            score = scores[j]
            if not np.isfinite(score):
                break
            out.append(Recommendation(len(out) + 1, self.product_ids[j], float(score), str(SOURCES[source])))
        return out, False

    def _score_row(self, row: int) -> np.ndarray:
        """The weighted parts of ``HybridRecommender._score_block`` for one row (its ``blend``), (4, n_products)."""
        model = self.model
        assert isinstance(model, HybridRecommender)
        return model.blend(np.array([row]))[:, 0, :]  # the order of SOURCES

    def _via_model(self, customer_id: int, k: int, exclude_purchased: bool) -> list[Recommendation]:
        frame = self.model.recommend([customer_id], k=k, exclude_purchased=exclude_purchased)
        return [Recommendation(int(r.rank), str(r.product_id), float(r.score), str(r.source))
                for r in frame.itertuples(index=False)]
