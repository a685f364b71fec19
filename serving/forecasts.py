"""Sales forecasts computed once per loaded model version and served from memory.

Why precomputed: a forecast depends only on the model and the sales history, both of which change at
most daily; computing at load time keeps LightGBM and the warehouse off the request path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from hashiramart_assets.ml.forecast.mart import history_from_daily_sales
from hashiramart_assets.ml.forecast.model import SalesForecaster

GRAINS = ("product", "category")


@dataclass(frozen=True)
class SeriesForecast:
    dates: tuple[date, ...]
    forecast: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    last_history_date: date


@dataclass(frozen=True)
class ForecastTable:
    """series_id ("product:P0001", "category:tea") -> its forecast for the model's full horizon."""

    series: dict[str, SeriesForecast]
    horizon: int
    history_end: date | None
    computed_at: float

    def get(self, series_id: str) -> SeriesForecast | None:
        return self.series.get(series_id)


def compute_forecast_table(forecaster: SalesForecaster, daily_sales: pd.DataFrame, computed_at: float) -> ForecastTable:
    """Forecast every series of ``daily_sales`` (marts.daily_sales rows) for the model's trained horizon."""
    horizon = forecaster.params.horizon
    history = history_from_daily_sales(daily_sales)
    predictions = forecaster.predict(history, horizon)
    last = history.groupby("series_id")["date"].max()
    table: dict[str, SeriesForecast] = {}
    for series_id, group in predictions.groupby("series_id", sort=False):
        group = group.sort_values("date")
        table[str(series_id)] = SeriesForecast(
            dates=tuple(pd.to_datetime(group["date"]).dt.date),
            forecast=group["forecast"].to_numpy(np.float64),
            lower=group["lower"].to_numpy(np.float64),
            upper=group["upper"].to_numpy(np.float64),
            last_history_date=pd.Timestamp(last[series_id]).date(),
        )
    end = pd.Timestamp(history["date"].max()).date() if len(history) else None
    return ForecastTable(series=table, horizon=horizon, history_end=end, computed_at=computed_at)


def series_id(grain: str, item_id: str) -> str:
    """The forecaster's series id for a product or a category (see ml/forecast/mart.py)."""
    return f"{grain}:{item_id}"
