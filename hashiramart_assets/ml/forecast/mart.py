"""marts.daily_sales (the warehouse's two-grain daily table) to the forecaster's long-format history.

Why this does its own densifying instead of the generic gap filler: the mart has a row only for an
item-day with order lines. A missing item-day on a day the shop traded is a genuine zero (open, observed);
only a day that is absent from the whole mart is a day the shop did not trade (open=0, imputed).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hashiramart_assets.ml.forecast.columns import DATE, HISTORY_COLUMNS, IMPUTED, OPEN, PRICE, PROMO, SALES, SERIES
from hashiramart_assets.ml.forecast.history import prepare_history

MART_COLUMNS = ("date", "grain", "item_id", "units", "promo", "avg_price", "list_price", "is_open")


def history_from_daily_sales(daily_sales: pd.DataFrame, grain: str | None = None) -> pd.DataFrame:
    """Long-format history with series_id = "{grain}:{item_id}", sales = units, price = list_price.

    ``grain`` ('product' or 'category') keeps one grain; None keeps both (their series ids never clash).
    Each series runs from its first sale to the last date in the mart.
    """
    missing = [c for c in MART_COLUMNS if c not in daily_sales.columns]
    if missing:
        raise ValueError(f"daily_sales is missing column(s) {missing}; found {list(daily_sales.columns)}")
    mart = daily_sales if grain is None else daily_sales[daily_sales["grain"] == grain]
    if mart.empty:
        raise ValueError(f"daily_sales has no rows for grain {grain!r}")
    dates = pd.to_datetime(mart["date"]).dt.normalize()
    price = pd.to_numeric(mart["list_price"], errors="coerce").astype("float64")
    price = price.fillna(pd.to_numeric(mart["avg_price"], errors="coerce").astype("float64"))
    rows = pd.DataFrame(
        {
            SERIES: (mart["grain"].astype(str) + ":" + mart["item_id"].astype(str)).to_numpy(),
            DATE: dates.to_numpy(),
            SALES: pd.to_numeric(mart["units"], errors="coerce").fillna(0).clip(lower=0).astype("float64").to_numpy(),
            PROMO: mart["promo"].fillna(False).astype(bool).astype("float64").to_numpy(),
            OPEN: mart["is_open"].fillna(True).astype(bool).astype("float64").to_numpy(),
            PRICE: price.to_numpy(),
        }
    )
    rows = rows.groupby([SERIES, DATE], as_index=False, sort=False).agg(
        {SALES: "sum", PROMO: "max", OPEN: "max", PRICE: "mean"}
    )
    # Shop-level trading days: any mart row on that date (with is_open true) means the shop traded.
    all_days = pd.date_range(rows[DATE].min(), rows[DATE].max(), freq="D")
    traded = set(rows.loc[rows[OPEN] > 0, DATE])
    starts = rows.groupby(SERIES)[DATE].min()
    lengths = ((all_days[-1] - starts).dt.days + 1).to_numpy()
    series = np.repeat(starts.index.to_numpy(), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    days = np.repeat(starts.to_numpy(), lengths) + offsets.astype("timedelta64[D]")
    grid = pd.DataFrame({SERIES: series, DATE: days})
    dense = grid.merge(rows, on=[SERIES, DATE], how="left")
    absent = dense[SALES].isna().to_numpy()
    shop_open = dense[DATE].isin(traded).to_numpy()
    dense[SALES] = dense[SALES].fillna(0.0)
    dense[PROMO] = dense[PROMO].fillna(0.0)
    dense[OPEN] = np.where(absent, shop_open.astype(float), dense[OPEN].to_numpy())
    dense[IMPUTED] = absent & ~shop_open
    history, _ = prepare_history(dense, has_open_column=True)
    return history[list(HISTORY_COLUMNS)]
