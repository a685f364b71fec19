"""What every recommender here shares: id lookup, exclusion of past purchases, batched top-k, fallback.

Subclasses only say how to score a block of known customers against all products; ranking, the
unknown-customer popularity fallback and the long output format live here once, so the hybrid and the
baselines are compared on exactly the same footing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from hashiramart_assets.ml.recommender.data import TrainingData

HISTORY, ALS, POPULAR, NEIGHBOURS = 0, 1, 2, 3
SOURCES = np.array(["history", "als", "popular", "neighbours"], dtype=object)
RECOMMENDATION_COLUMNS = ["customer_id", "rank", "product_id", "score", "source", "is_fallback"]
MAX_BLOCK_CELLS = 4_000_000  # customers x products scored at once (~32 MB of float64)
# Given the chosen (row, column) cells of a scored block as a (rows, k) column array: their sources.
SourcesAt = Callable[[np.ndarray], np.ndarray]


def as_customer_ids(customer_ids: Iterable[int] | np.ndarray | pd.Series) -> np.ndarray:
    """Unique customer ids (first occurrence order) as int64; non-integer ids are a ValueError."""
    values = pd.Series(list(customer_ids) if not isinstance(customer_ids, np.ndarray | pd.Series) else customer_ids)
    if values.isna().any():
        raise ValueError("customer_id must not contain nulls")
    if values.dtype == object or values.dtype.kind not in "iuf" or values.dtype == bool:
        try:
            values = pd.to_numeric(values, errors="raise")
        except (TypeError, ValueError) as err:
            raise ValueError(f"customer_id must be integers (got {values.dtype}): {err}") from None
    if values.dtype.kind == "f" and not np.all(np.mod(values.to_numpy(), 1) == 0):
        raise ValueError("customer_id must be integers (got non-integral floats)")
    if values.dtype.kind not in "iuf" or values.dtype == bool:
        raise ValueError(f"customer_id must be integers (got {values.dtype})")
    return pd.unique(values.to_numpy().astype(np.int64))


class Recommender(ABC):
    """A fitted model over ``data``; ``recommend`` is the one entry point for scoring."""

    name: str = "recommender"

    def __init__(self) -> None:
        self.data: TrainingData | None = None

    @property
    def fitted(self) -> TrainingData:
        if self.data is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted")
        return self.data

    @abstractmethod
    def _score_block(self, rows: np.ndarray) -> tuple[np.ndarray, SourcesAt]:
        """Scores (len(rows), n_products) of known customer rows, and how to name the source of chosen cells.

        Why sources only for chosen cells: only the top k of each row are shown, and deciding the source
        of every cell (an argmax over the blend's components) was ~8 s of a 10M-event evaluation.
        """

    def fallback_scores(self) -> np.ndarray:
        """Popularity scaled to [0, 1]; public because serving answers unknown customers with it (cold start)."""
        pop = self.fitted.popularity
        top = pop.max() if len(pop) else 0.0
        return pop / top if top > 0 else np.zeros_like(pop)

    def _rows(self, customer_ids: np.ndarray) -> np.ndarray:
        """Row of each customer, -1 for customers the model has never seen."""
        known = self.fitted.customer_ids
        pos = np.searchsorted(known, customer_ids)
        pos = np.minimum(pos, max(len(known) - 1, 0))
        hit = (known[pos] == customer_ids) if len(known) else np.zeros(len(customer_ids), dtype=bool)
        return np.where(hit, pos, -1)

    @staticmethod
    def _top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Column indices and scores of the k best per row; ties go to the lower product id.

        Same answer as the first k of a stable full argsort, without sorting every row: the k-th best
        score is found by partition, the columns above it plus the lowest-numbered ties at it are kept,
        and only those k are sorted. A full sort of 5,000 products per customer was ~60 s of a 10M-event
        evaluation (4x slower than this).
        """
        n_rows, n_cols = scores.shape
        if k >= n_cols or np.isnan(scores).any():
            order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
            return order, np.take_along_axis(scores, order, axis=1)
        kth = -np.partition(-scores, k - 1, axis=1)[:, k - 1 : k]
        better = scores > kth
        ties = scores == kth
        needed = k - better.sum(axis=1, keepdims=True)
        keep = better | (ties & (np.cumsum(ties, axis=1) <= needed))
        columns = np.nonzero(keep)[1].reshape(n_rows, k)  # ascending column order within each row
        order = np.argsort(-np.take_along_axis(scores, columns, axis=1), axis=1, kind="stable")
        columns = np.take_along_axis(columns, order, axis=1)
        return columns, np.take_along_axis(scores, columns, axis=1)

    def recommend(
        self, customer_ids: Iterable[int] | np.ndarray | pd.Series, k: int = 10, exclude_purchased: bool = False
    ) -> pd.DataFrame:
        """Top-k per customer as a long frame (customer_id, rank 1..k, product_id, score, source, is_fallback).

        Customers come out in input order (duplicates once). ``exclude_purchased`` drops every product
        the customer bought in training; unknown customers get popularity with ``is_fallback`` True.
        """
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k <= 0:
            raise ValueError(f"k must be a positive integer (got {k!r})")
        data = self.fitted
        ids = as_customer_ids(customer_ids)
        rows = self._rows(ids)
        n_products = len(data.product_ids)
        k = min(int(k), n_products)
        # known customers, scored in blocks; unknown ones share a single popularity ranking
        known_at = np.flatnonzero(rows >= 0)
        block = max(1, MAX_BLOCK_CELLS // max(n_products, 1))
        out_items = np.zeros((len(ids), k), dtype=np.int64)
        out_scores = np.full((len(ids), k), -np.inf)
        out_sources = np.full((len(ids), k), POPULAR, dtype=np.int64)
        for start in range(0, len(known_at), block):
            at = known_at[start : start + block]
            scores, sources_at = self._score_block(rows[at])
            if exclude_purchased:
                bought = data.purchase_days[rows[at]]
                scores[bought.nonzero()] = -np.inf
            items, top = self._top_k(scores, k)
            out_items[at], out_scores[at] = items, top
            out_sources[at] = sources_at(items)
        unknown_at = np.flatnonzero(rows < 0)
        if len(unknown_at):
            items, top = self._top_k(self.fallback_scores()[None, :], k)
            out_items[unknown_at], out_scores[unknown_at] = items, top
        keep = np.isfinite(out_scores)
        n_kept = keep.sum(axis=1)
        return pd.DataFrame(
            {
                "customer_id": np.repeat(ids, n_kept),
                "rank": (np.cumsum(keep, axis=1)[keep]).astype(np.int32),
                "product_id": data.product_ids[out_items[keep]].astype(object),
                "score": out_scores[keep].astype(np.float64),
                "source": SOURCES[out_sources[keep]],
                "is_fallback": np.repeat(rows < 0, n_kept),
            },
            columns=RECOMMENDATION_COLUMNS,
        )
