"""One global LightGBM model over all series (point forecast) plus two quantile models (the interval).

Why global: most series are short and noisy; a single model learns weekday, promo and price effects from
all of them and tells series apart by their level and a categorical series code. Why separate quantile
models: LightGBM's point objective gives no spread, and the interval must be honest on its own data.

Why the interval is calibrated: quantile GBMs fitted on the same rows they are judged on are too narrow
(backtest coverage 0.71 for a nominal 80 %). ``train`` holds back the last ``horizon`` days of its
training rows, fits the quantile models on the rest, and measures on the held-back days how far actuals
fall outside the interval, relative to its width (conformalised quantile regression, scaled by width so
that series of very different levels get proportionate margins). The quantile models are then refitted
on every row and every interval is widened (or narrowed) by ``interval_scale`` x its width on each side.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd

from hashiramart_assets.ml.forecast.columns import (
    DATE,
    DEFAULTS,
    HISTORY_COLUMNS,
    HOLIDAY,
    IMPUTED,
    OPEN,
    PRICE,
    PROMO,
    SALES,
    SERIES,
)
from hashiramart_assets.ml.forecast.features import SERIES_CODE, build_features, feature_columns, positions
from hashiramart_assets.ml.forecast.history import ensure_history
from hashiramart_assets.ml.forecast.params import ForecasterParams

FORECAST_COLUMNS = (SERIES, DATE, "forecast", "lower", "upper")
COVARIATES = (PROMO, OPEN, HOLIDAY, PRICE)


@dataclass(frozen=True)
class SalesForecaster:
    """The trained models and what is needed to rebuild their inputs (series codes, feature order)."""

    params: ForecasterParams
    point: lgb.Booster
    lower: lgb.Booster
    upper: lgb.Booster
    series_codes: dict[str, int]
    train_end: pd.Timestamp
    n_train_rows: int
    interval_scale: float = 0.0  # conformal margin, in units of the raw interval's width (see module doc)

    @property
    def feature_names(self) -> list[str]:
        return feature_columns(self.params.horizon)

    def predict(self, history: pd.DataFrame, horizon: int | None = None,
                future: pd.DataFrame | None = None) -> pd.DataFrame:
        return predict(self, history, horizon, future)


def training_mask(history: pd.DataFrame, horizon: int) -> np.ndarray:
    """Rows that are real, open, observed days with at least H days of series history before them."""
    pos = positions(history[SERIES].to_numpy())
    return (
        (history[OPEN].to_numpy() > 0)
        & ~history[IMPUTED].to_numpy(bool)
        & history[SALES].notna().to_numpy()
        & (pos >= horizon)
    )


def _dataset(features: pd.DataFrame, target: np.ndarray) -> lgb.Dataset:
    """One binned training set for the point and quantile models of the same rows.

    Why shared: binning is the same for every objective (only booster parameters differ), and at a
    million rows it costs seconds per construction; LightGBM bins it once, at the first fit.
    """
    return lgb.Dataset(features, label=target, categorical_feature=[SERIES_CODE], free_raw_data=True,
                       params={"verbosity": -1})


def _fit(params: dict, data: lgb.Dataset, rounds: int) -> lgb.Booster:
    return lgb.train(params, data, num_boost_round=rounds)


def series_codes(series: pd.Series, start_from: dict[str, int] | None = None) -> dict[str, int]:
    """Integer code of each series (the model's categorical feature): sorted names, or after ``start_from``'s."""
    codes = dict(start_from or {})
    for name in sorted(series.unique()):
        codes.setdefault(name, len(codes))
    return codes


def train(history: pd.DataFrame, params: ForecasterParams | None = None,
          calibration_from: SalesForecaster | None = None) -> SalesForecaster:
    """Fit the point model and the two quantile models on every usable row of ``history``.

    ``calibration_from``: a forecaster trained on this history up to its last ``horizon`` days (the
    backtest's). Its quantile models were fitted on exactly the rows the calibration would fit them on,
    so they are reused when that holds (same parameters, cut-off day and row count): 2 of the 10 LightGBM
    fits of a backtest + train, ~27 s at 10M events. Series codes then continue its numbering, so the
    rows it saw keep their codes when series are new in the last days (40 new products at 10M events).
    """
    params = params or ForecasterParams()
    history = ensure_history(history)
    codes = series_codes(history[SERIES], calibration_from.series_codes if calibration_from else None)
    features = build_features(history, params.horizon, codes)
    mask = training_mask(history, params.horizon)
    if not mask.any():
        raise ValueError(
            f"no training rows: every series is shorter than the horizon ({params.horizon} days) or closed"
        )
    x, y = features.loc[mask], history.loc[mask, SALES].to_numpy("float64")
    low, high = params.quantiles
    dates = history.loc[mask, DATE]
    cutoff = dates.max() - pd.Timedelta(days=params.horizon)
    calibration = (dates > cutoff).to_numpy()
    prefit = None
    if (calibration_from is not None and calibration_from.params == params
            and calibration_from.train_end == cutoff
            and calibration_from.n_train_rows == int((~calibration).sum())):
        prefit = (calibration_from.lower, calibration_from.upper)
    scale = interval_scale(params, x, y, calibration, prefit)
    data = _dataset(x, y)
    return SalesForecaster(
        params=params,
        point=_fit(params.lightgbm_params(), data, params.n_estimators),
        lower=_fit(params.lightgbm_params("quantile", low), data, params.n_estimators),
        upper=_fit(params.lightgbm_params("quantile", high), data, params.n_estimators),
        series_codes=codes,
        train_end=pd.Timestamp(history[DATE].max()),
        n_train_rows=int(mask.sum()),
        interval_scale=scale,
    )


MIN_CALIBRATION_ROWS = 30


def interval_scale(params: ForecasterParams, x: pd.DataFrame, y: np.ndarray, calibration: np.ndarray,
                   prefit: tuple[lgb.Booster, lgb.Booster] | None = None) -> float:
    """Conformal margin from the held-back ``calibration`` rows (0.0 when there are too few rows to judge).

    Score of a row: max(lower - y, y - upper) / max(upper - lower, 1e-6); the margin is the score's
    ceil((n + 1) * coverage) / n empirical quantile, coverage = high - low quantile (0.8 for 0.1..0.9).
    ``prefit``: (lower, upper) quantile models already fitted on the rows before ``calibration``.
    """
    n = int(calibration.sum())
    if n < MIN_CALIBRATION_ROWS or calibration.all():
        return 0.0
    low, high = params.quantiles
    cal_x, cal_y = x.loc[calibration], y[calibration]
    if prefit is None:
        data = _dataset(x.loc[~calibration], y[~calibration])
        prefit = (_fit(params.lightgbm_params("quantile", low), data, params.n_estimators),
                  _fit(params.lightgbm_params("quantile", high), data, params.n_estimators))
    lower = np.clip(prefit[0].predict(cal_x), 0.0, None)
    upper = np.clip(prefit[1].predict(cal_x), 0.0, None)
    lower, upper = np.minimum(lower, upper), np.maximum(lower, upper)
    width = np.maximum(upper - lower, 1e-6)
    scores = np.maximum(lower - cal_y, cal_y - upper) / width
    level = min(1.0, np.ceil((n + 1) * (high - low)) / n)
    return float(np.quantile(scores, level, method="higher"))


def future_rows(history: pd.DataFrame, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
    """The ``horizon`` days after each series' last date, with known covariates.

    Covariates come from ``future`` (columns series_id, date and any of promo/open/holiday/price) where
    given; otherwise promo 0, open 1, holiday 0, and the series' last known price.
    """
    last = history.groupby(SERIES, sort=True)[[DATE, PRICE]].last()
    n = len(last)
    grid = pd.DataFrame(
        {
            SERIES: np.repeat(last.index.to_numpy(), horizon),
            DATE: np.repeat(last[DATE].to_numpy(), horizon) + np.tile(np.arange(1, horizon + 1), n).astype(
                "timedelta64[D]"),
        }
    )
    last_price = np.repeat(last[PRICE].to_numpy("float64"), horizon)
    given = pd.DataFrame(index=grid.index)
    if future is not None:
        cols = [c for c in COVARIATES if c in future.columns]
        keyed = future[[SERIES, DATE, *cols]].copy()
        keyed[SERIES] = keyed[SERIES].astype(str)
        keyed[DATE] = pd.to_datetime(keyed[DATE]).dt.normalize()
        keyed = keyed.drop_duplicates([SERIES, DATE], keep="first")
        given = grid.merge(keyed, on=[SERIES, DATE], how="left")
    for column in COVARIATES:
        values = pd.to_numeric(given[column], errors="coerce") if column in given else pd.Series(np.nan, grid.index)
        default = last_price if column == PRICE else DEFAULTS[column]
        grid[column] = np.where(values.isna(), default, values.to_numpy("float64"))
    grid[SALES] = np.nan
    grid[IMPUTED] = False
    return grid[list(HISTORY_COLUMNS)]


def forecast_features(forecaster: SalesForecaster, history: pd.DataFrame, horizon: int | None = None,
                      future: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(future rows, their model features) for the ``horizon`` days after each series' history."""
    horizon = forecaster.params.horizon if horizon is None else horizon
    if not 1 <= horizon <= forecaster.params.horizon:
        raise ValueError(f"horizon must be in 1..{forecaster.params.horizon} (the trained one); got {horizon}")
    history = ensure_history(history)
    ahead = future_rows(history, horizon, future)
    combined = pd.concat([history[list(HISTORY_COLUMNS)], ahead], ignore_index=True)
    combined["_future"] = np.r_[np.zeros(len(history), bool), np.ones(len(ahead), bool)]
    combined = combined.sort_values([SERIES, DATE], kind="stable").reset_index(drop=True)
    features = build_features(combined, forecaster.params.horizon, forecaster.series_codes)
    is_future = combined.pop("_future").to_numpy()
    return combined.loc[is_future].reset_index(drop=True), features.loc[is_future].reset_index(drop=True)


def predict(forecaster: SalesForecaster, history: pd.DataFrame, horizon: int | None = None,
            future: pd.DataFrame | None = None) -> pd.DataFrame:
    """Forecast, lower, upper for the H days after each series' last date (all >= 0, lower <= point <= upper).

    Days known to be closed (open=0 in ``future``) are forecast 0 with a [0, 0] interval.
    """
    rows, features = forecast_features(forecaster, history, horizon, future)
    point = np.clip(forecaster.point.predict(features), 0.0, None)
    lower = np.clip(forecaster.lower.predict(features), 0.0, None)
    upper = np.clip(forecaster.upper.predict(features), 0.0, None)
    lower, upper = np.minimum(lower, upper), np.maximum(lower, upper)
    margin = forecaster.interval_scale * (upper - lower)
    lower, upper = np.clip(lower - margin, 0.0, None), upper + margin
    closed = rows[OPEN].to_numpy() <= 0
    point[closed] = lower[closed] = upper[closed] = 0.0
    # Quantile models are fitted separately and can cross the point forecast; the interval must contain it.
    lower, upper = np.minimum(lower, point), np.maximum(upper, point)
    return pd.DataFrame({SERIES: rows[SERIES], DATE: rows[DATE], "forecast": point, "lower": lower, "upper": upper})
