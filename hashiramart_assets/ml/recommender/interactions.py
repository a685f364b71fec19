"""Pandas twin of the Spark ``features/interactions`` builder (hashiramart_assets/spark/features.py).

The offline evaluation must rebuild interactions from pre-holdout data only, without a Spark session, so
this computes exactly what ``build_interactions`` computes: views and carts from events, purchased units
from order lines (returns excluded), each weighted and decayed by whole days before ``as_of``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

INTERACTION_COLUMNS = ["customer_id", "product_id", "weight", "views", "carts", "purchases", "last_interaction_ts"]


@dataclass(frozen=True)
class InteractionWeights:
    """Same fields and defaults as ``spark.features.InteractionWeights`` (either can be passed)."""

    view: float = 1.0
    add_to_cart: float = 3.0
    purchase: float = 5.0
    half_life_days: float = 60.0


DEFAULT_WEIGHTS = InteractionWeights()


def purchase_lines(orders: pd.DataFrame) -> pd.DataFrame:
    """Order lines that are purchases: not a return and a positive quantity."""
    return orders[~orders["is_return"].astype(bool) & (orders["quantity"] > 0)]


def as_of_date(orders: pd.DataFrame, events: pd.DataFrame) -> date:
    """Newest day present in orders or events: "today" for decay, as in the Spark features."""
    newest = [pd.Timestamp(f[c].max()) for f, c in ((orders, "order_ts"), (events, "event_ts")) if len(f)]
    newest = [t for t in newest if not pd.isna(t)]
    if not newest:
        raise ValueError("as_of_date needs at least one order line or event with a timestamp")
    return max(newest).date()


def decay(ts: pd.Series, as_of: date, half_life_days: float) -> np.ndarray:
    """exp(-ln2 / half_life * age), age in whole days between the timestamp's day and as_of, floored at 0."""
    day = pd.to_datetime(ts).dt.normalize()
    age = ((pd.Timestamp(as_of) - day).dt.days).clip(lower=0).to_numpy(dtype=np.float64)
    return np.exp(-math.log(2) / half_life_days * age)


def build_interactions(
    orders: pd.DataFrame, events: pd.DataFrame, as_of: date, weights: InteractionWeights = DEFAULT_WEIGHTS
) -> pd.DataFrame:
    """Customer x product implicit feedback with the Spark builder's columns, types and rules."""
    ev = events[events["event_type"].isin(["view", "add_to_cart"])]
    is_view = (ev["event_type"] == "view").to_numpy()
    event_part = pd.DataFrame(
        {
            "customer_id": ev["customer_id"].to_numpy(),
            "product_id": ev["product_id"].to_numpy(dtype=object),
            "ts": pd.to_datetime(ev["event_ts"]).to_numpy(),
            "views": is_view.astype(np.int64),
            "carts": (~is_view).astype(np.int64),
            "purchases": np.zeros(len(ev), dtype=np.int64),
            "base": np.where(is_view, weights.view, weights.add_to_cart),
        }
    )
    bought = purchase_lines(orders)
    qty = bought["quantity"].to_numpy(dtype=np.int64)
    order_part = pd.DataFrame(
        {
            "customer_id": bought["customer_id"].to_numpy(),
            "product_id": bought["product_id"].to_numpy(dtype=object),
            "ts": pd.to_datetime(bought["order_ts"]).to_numpy(),
            "views": np.zeros(len(bought), dtype=np.int64),
            "carts": np.zeros(len(bought), dtype=np.int64),
            "purchases": qty,
            "base": weights.purchase * np.log1p(qty.astype(np.float64)),
        }
    )
    both = pd.concat([event_part, order_part], ignore_index=True)
    both["w"] = both["base"].to_numpy() * decay(both["ts"], as_of, weights.half_life_days)
    out = (
        both.groupby(["customer_id", "product_id"], sort=True, dropna=False)
        .agg(
            weight=("w", "sum"),
            views=("views", "sum"),
            carts=("carts", "sum"),
            purchases=("purchases", "sum"),
            last_interaction_ts=("ts", "max"),
        )
        .reset_index()
    )
    out = out[out["weight"] > 0].reset_index(drop=True)
    out["customer_id"] = out["customer_id"].astype(np.int64)
    for col in ("views", "carts", "purchases"):
        out[col] = out[col].astype(np.int64)
    out["weight"] = out["weight"].astype(np.float64)
    out["last_interaction_ts"] = pd.to_datetime(out["last_interaction_ts"])
    return out[INTERACTION_COLUMNS]
