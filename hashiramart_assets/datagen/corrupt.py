"""Bad input on purpose: one day's landed files damaged so the raw layer's checks can be seen failing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from hashiramart_assets import landing
from hashiramart_assets.datagen.ids import CORRUPT, numbered, stream

UNKNOWN_PREFIX = "HM-9"  # looks like a product id, but the catalogue never reaches 900000


def _some(rng: np.random.Generator, candidates: np.ndarray) -> np.ndarray:
    """About 1 % of the candidate rows: at least 3 (or all there are), at most 25; sorted."""
    size = min(len(candidates), int(np.clip(round(0.01 * len(candidates)), 3, 25)))
    return np.sort(rng.choice(candidates, size=size, replace=False))


def write_corrupted_day(
    landing_dir: Path, day: date, corruption: str, orders: pd.DataFrame, events: pd.DataFrame, seed: int
) -> str:
    """Write the day's orders and events files with ``corruption`` applied; returns what was done."""
    rng = stream(seed, CORRUPT, day.toordinal())
    sales = _some(rng, np.flatnonzero(~orders["is_return"].to_numpy()))
    if corruption == "empty":
        orders, events = orders.iloc[0:0], events.iloc[0:0]
        note = "orders and events files have no rows"
    elif corruption == "missing_column":
        path = landing.day_path(landing_dir, "orders", day)
        path.parent.mkdir(parents=True, exist_ok=True)
        landing.conform(orders, "orders").drop(columns=["quantity"]).to_parquet(path, index=False)
        landing.write_day(landing_dir, "events", day, events)
        return "orders file has no quantity column"
    elif corruption == "negative_quantity":
        orders = orders.copy()
        column = orders.columns.get_loc("quantity")
        orders.iloc[sales, column] = -np.abs(orders.iloc[sales, column].to_numpy())
        note = f"{len(sales)} sale lines with negative quantity"
    elif corruption == "duplicate_order_id":
        orders = pd.concat([orders, orders.iloc[sales]]).sort_values("order_ts", kind="stable")
        orders = orders.reset_index(drop=True)
        note = f"{len(sales)} order lines duplicated (same order_id and line_no)"
    elif corruption == "unknown_product":
        orders, events = orders.copy(), events.copy()
        orders.iloc[sales, orders.columns.get_loc("product_id")] = numbered(UNKNOWN_PREFIX, len(sales), 5)
        hits = _some(rng, np.arange(len(events)))
        events.iloc[hits, events.columns.get_loc("product_id")] = numbered(UNKNOWN_PREFIX, len(hits), 5)
        note = f"{len(sales)} order lines and {len(hits)} events reference unknown products"
    else:
        raise ValueError(f"unknown corruption {corruption!r}")
    landing.write_day(landing_dir, "orders", day, orders)
    landing.write_day(landing_dir, "events", day, events)
    if corruption != "empty" and len(sales) == 0:
        note += " (the day had no sale lines, so nothing was changed)"
    return note
