"""Past forecasts against the actuals that have arrived since: the forecaster's accuracy in production.

Forecasts are the ``models/sales_forecasts`` files (one per as-of day); actuals are the same series
built from marts.daily_sales. Closed days (open = 0) are not scored, as in the backtest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from hashiramart_assets.ml.forecast.metrics import wape


@dataclass(frozen=True)
class AccuracyReport:
    scored_points: int
    wape: float | None
    by_as_of: dict[str, float]
    first_day: str | None
    last_day: str | None


def forecast_accuracy(forecasts: pd.DataFrame, history: pd.DataFrame) -> AccuracyReport:
    """WAPE of every forecast whose target day now has an actual (overall and per as-of day)."""
    if forecasts.empty or history.empty:
        return AccuracyReport(0, None, {}, None, None)
    actuals = history[["series_id", "date", "sales", *(["open"] if "open" in history else [])]]
    joined = forecasts.merge(actuals, on=["series_id", "date"], how="inner")
    if "open" in joined:
        joined = joined[joined["open"].fillna(1).astype(float) > 0]
    if joined.empty:
        return AccuracyReport(0, None, {}, None, None)
    by_as_of = {
        str(pd.Timestamp(as_of).date()): float(wape(g["sales"].to_numpy(float), g["forecast"].to_numpy(float)))
        for as_of, g in joined.groupby("as_of")
    }
    overall = float(wape(joined["sales"].to_numpy(float), joined["forecast"].to_numpy(float)))
    return AccuracyReport(
        scored_points=len(joined), wape=overall if np.isfinite(overall) else None, by_as_of=by_as_of,
        first_day=str(joined["date"].min().date()), last_day=str(joined["date"].max().date()),
    )
