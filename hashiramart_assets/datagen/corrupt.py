"""Bad input on purpose: damage one day's landed files so the raw layer's checks can be seen failing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from hashiramart_assets import landing


def corrupt_day(
    landing_dir: Path, day: date, corruption: str, orders: pd.DataFrame, events: pd.DataFrame, seed: int
) -> None:
    """Rewrite the day's orders (and events where it applies) with the named corruption."""
    rng = np.random.default_rng([seed, 7, day.toordinal()])
    sales = np.flatnonzero(~orders["is_return"].to_numpy())
    few = rng.choice(sales, size=min(3, len(sales)), replace=False) if len(sales) else np.array([], int)
    if corruption == "empty":
        landing.write_day(landing_dir, "orders", day, orders.iloc[0:0])
        landing.write_day(landing_dir, "events", day, events.iloc[0:0])
    elif corruption == "missing_column":
        target = landing.day_path(landing_dir, "orders", day)
        landing.conform(orders, "orders").drop(columns=["quantity"]).to_parquet(target, index=False)
    elif corruption == "negative_quantity":
        bad = orders.copy()
        bad.loc[few, "quantity"] = -bad.loc[few, "quantity"].abs()
        landing.write_day(landing_dir, "orders", day, bad)
    elif corruption == "duplicate_order_id":
        landing.write_day(landing_dir, "orders", day, pd.concat([orders, orders.iloc[few]], ignore_index=True))
    elif corruption == "unknown_product":
        bad = orders.copy()
        bad.loc[few, "product_id"] = [f"XX-{i:06d}" for i in range(len(few))]
        landing.write_day(landing_dir, "orders", day, bad)
        bad_events = events.copy()
        hit = rng.choice(len(events), size=min(3, len(events)), replace=False)
        bad_events.loc[hit, "product_id"] = "XX-UNKNOWN"
        landing.write_day(landing_dir, "events", day, bad_events)
    else:
        raise ValueError(f"unknown corruption {corruption!r}")
