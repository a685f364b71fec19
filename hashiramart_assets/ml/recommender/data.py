"""Index maps and sparse matrices shared by the hybrid model and the baselines.

Built once from interactions (the ALS input) and order lines (purchase history), so every model of an
evaluation sees identical ids, matrices and popularity; rows are customers, columns products, both
sorted so the same inputs always give the same layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import scipy.sparse as sp

from hashiramart_assets.ml.recommender.interactions import decay, purchase_lines


@dataclass(frozen=True)
class TrainingData:
    customer_ids: np.ndarray  # int64, sorted: row i of every matrix
    product_ids: np.ndarray  # object (str), sorted: column j of every matrix
    weights: sp.csr_matrix  # float32 interaction weights, the ALS input
    purchase_days: sp.csr_matrix  # float64 number of distinct days the customer bought the product
    history: sp.csr_matrix  # float64 sum over those days of the recency decay (frequency x recency)
    popularity: np.ndarray  # float64 per product: recency-weighted purchase days over all customers
    repeat_rate: np.ndarray  # float64 per product: smoothed share of its buyers who bought it on 2+ days
    as_of: date
    # float64 per product: purchase days decayed with the popularity half-life (what sells now); None in
    # models saved before it existed, which then use ``popularity``
    recent_popularity: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.customer_ids), len(self.product_ids)


def _positions(values: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    """Index of each value in ``sorted_ids`` (hash lookup: fast for string ids too)."""
    return pd.Index(sorted_ids).get_indexer(values)


def _product_strings(values: pd.Series) -> np.ndarray:
    """Product ids as an object array of str (no per-row conversion when they already are strings)."""
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        return values.to_numpy(dtype=object)
    return values.astype(str).to_numpy(dtype=object)


def build_training_data(
    interactions: pd.DataFrame,
    orders: pd.DataFrame,
    as_of: date,
    history_half_life_days: float,
    repeat_prior: float,
    popularity_half_life_days: float | None = None,
) -> TrainingData:
    """Matrices for customers and products seen in interactions or purchases (nulls dropped).

    ``popularity_half_life_days`` adds ``recent_popularity``: the same purchase days as ``popularity``
    decayed with that half-life instead of the history's.
    """
    inter = interactions.dropna(subset=["customer_id", "product_id"])
    inter = inter[inter["weight"] > 0]
    bought = purchase_lines(orders).dropna(subset=["customer_id", "product_id"])
    customer_ids = np.unique(
        np.concatenate([inter["customer_id"].to_numpy(np.int64), bought["customer_id"].to_numpy(np.int64)])
    )
    inter_products = _product_strings(inter["product_id"])
    bought_products = _product_strings(bought["product_id"])
    distinct = pd.unique(np.concatenate([pd.unique(inter_products), pd.unique(bought_products)]))
    product_ids = np.array(sorted(distinct), dtype=object)
    shape = (len(customer_ids), len(product_ids))
    weights = sp.csr_matrix(
        (
            inter["weight"].to_numpy(np.float32),
            (
                _positions(inter["customer_id"].to_numpy(np.int64), customer_ids),
                _positions(inter_products, product_ids),
            ),
        ),
        shape=shape,
        dtype=np.float32,
    )
    # one entry per (customer, product, day): buying twice in a day is one purchase occasion
    days = pd.DataFrame(
        {
            "u": _positions(bought["customer_id"].to_numpy(np.int64), customer_ids),
            "i": _positions(bought_products, product_ids),
            "day": pd.to_datetime(bought["order_ts"]).dt.normalize().to_numpy(),
        }
    ).drop_duplicates()
    recency = decay(days["day"], as_of, history_half_life_days)
    rows, cols = days["u"].to_numpy(), days["i"].to_numpy()
    purchase_days = sp.csr_matrix((np.ones(len(days)), (rows, cols)), shape=shape, dtype=np.float64)
    history = sp.csr_matrix((recency, (rows, cols)), shape=shape, dtype=np.float64)
    popularity = np.asarray(history.sum(axis=0)).ravel()
    recent_popularity = None
    if popularity_half_life_days is not None:
        recent = decay(days["day"], as_of, popularity_half_life_days)
        recent_popularity = np.bincount(cols, weights=recent, minlength=shape[1]).astype(np.float64)
    buyers = np.diff(purchase_days.tocsc().indptr).astype(np.float64)
    repeaters = np.asarray((purchase_days >= 2).sum(axis=0)).ravel().astype(np.float64)
    overall = repeaters.sum() / buyers.sum() if buyers.sum() else 0.0
    repeat_rate = (repeaters + repeat_prior * overall) / np.maximum(buyers + repeat_prior, 1e-12)
    if not math.isfinite(overall):
        repeat_rate = np.zeros(len(product_ids))
    return TrainingData(
        customer_ids=customer_ids,
        product_ids=product_ids,
        weights=weights,
        purchase_days=purchase_days,
        history=history,
        popularity=popularity,
        repeat_rate=repeat_rate,
        as_of=as_of,
        recent_popularity=recent_popularity,
    )
