"""Time-based holdout: each repeat buyer's last purchase day is what the model must predict.

A random split would leak the future (a customer's later baskets in train), so the cut is per
customer in time: their last purchase day is held out and only what happened strictly before it
(orders and clickstream alike; the purchase session's views and carts would give the answer away) is
kept for training. Customers with a single purchase day have nothing to predict and stay in train.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from hashiramart_assets.ml.recommender.interactions import purchase_lines


@dataclass(frozen=True)
class HoldoutSplit:
    train_orders: pd.DataFrame
    train_events: pd.DataFrame
    heldout: dict[int, set[str]]  # customer_id -> products bought on the holdout day
    holdout_dates: dict[int, pd.Timestamp]  # customer_id -> holdout day (midnight)


def _cut_mask(customer_ids: pd.Series, ts: pd.Series, cutoff: pd.Series) -> pd.Series:
    """True for rows to keep: the customer has no cutoff, or the row is strictly before the cutoff day."""
    limit = customer_ids.map(cutoff)
    return limit.isna() | (pd.to_datetime(ts) < limit)


def holdout_split(orders: pd.DataFrame, events: pd.DataFrame) -> HoldoutSplit:
    """Split raw orders and events by each repeat buyer's last purchase day (see module docstring)."""
    bought = purchase_lines(orders)
    day = pd.to_datetime(bought["order_ts"]).dt.normalize()
    per_customer = day.groupby(bought["customer_id"]).agg(["nunique", "max"])
    cutoff = per_customer.loc[per_customer["nunique"] >= 2, "max"]
    last = bought[day.to_numpy() == bought["customer_id"].map(cutoff).to_numpy()]
    heldout = {int(c): set(map(str, g)) for c, g in last.groupby("customer_id")["product_id"]}
    train_orders = orders[_cut_mask(orders["customer_id"], orders["order_ts"], cutoff)].reset_index(drop=True)
    train_events = events[_cut_mask(events["customer_id"], events["event_ts"], cutoff)].reset_index(drop=True)
    dates = {int(c): pd.Timestamp(d) for c, d in cutoff.items()}
    return HoldoutSplit(train_orders, train_events, heldout, dates)
