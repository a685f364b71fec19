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

Why several point models (``params.short_horizons``): a direct H-day model may only use sales at least
H days old. For the first days of the horizon more recent sales are known, so a 7-day model (lags from 7
days back) forecasts days 1..7 and the H-day model the rest; the interval of a day comes from the H-day
quantile models, moved with the point forecast (scaled by short / long point forecast).

Target transform: with ``log1p`` every model learns log(1 + sales) and predictions are mapped back; for
the quantile models this is exact (a quantile of log1p(y) is log1p of y's quantile).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
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
from hashiramart_assets.ml.forecast.covariates import CATEGORICAL, OUTCOME_NAMES, PREFIX, Covariate, covariate_columns
from hashiramart_assets.ml.forecast.encodings import TargetEncodings, fit_encodings
from hashiramart_assets.ml.forecast.features import SERIES_CODE, build_features, feature_columns, positions
from hashiramart_assets.ml.forecast.history import ensure_history
from hashiramart_assets.ml.forecast.params import ForecasterParams

FORECAST_COLUMNS = (SERIES, DATE, "forecast", "lower", "upper")
COVARIATES = (PROMO, OPEN, HOLIDAY, PRICE)
MAX_LIGHTGBM_CATEGORIES = 32  # above this a categorical covariate is passed as its code (see params.feature_set)


@dataclass(frozen=True)
class SalesForecaster:
    """The trained models and what is needed to rebuild their inputs (series codes, encodings, covariates).

    ``point`` is the H-day point model; ``short_points`` the models of ``params.short_horizons`` (in
    ``params.model_horizons()`` order, without H).
    """

    params: ForecasterParams
    point: lgb.Booster
    lower: lgb.Booster
    upper: lgb.Booster
    series_codes: dict[str, int]
    train_end: pd.Timestamp
    n_train_rows: int
    interval_scale: float = 0.0  # conformal margin, in units of the raw interval's width (see module doc)
    covariates: tuple[Covariate, ...] = ()
    encodings: TargetEncodings | None = None
    short_points: tuple[lgb.Booster, ...] = field(default=())

    @property
    def feature_names(self) -> list[str]:
        return feature_columns(self.params.horizon, self.params.feature_set, self.covariates)

    @property
    def point_models(self) -> dict[int, lgb.Booster]:
        """Point model by the horizon it was trained for (the last one is H)."""
        horizons = self.params.model_horizons()
        short = dict(zip(horizons[:-1], self.short_points, strict=False)) if self.short_points else {}
        return {**short, horizons[-1]: self.point}

    def predict(self, history: pd.DataFrame, horizon: int | None = None,
                future: pd.DataFrame | None = None) -> pd.DataFrame:
        return predict(self, history, horizon, future)


def infer_covariates(history: pd.DataFrame) -> tuple[Covariate, ...]:
    """Covariates of a history's ``x_*`` columns when nobody described them: numeric, known ahead unless
    the name is an outcome of the day (see covariates.py)."""
    return tuple(Covariate(c, c[len(PREFIX):], "numeric", c[len(PREFIX):] not in OUTCOME_NAMES)
                 for c in covariate_columns(history))


def training_mask(history: pd.DataFrame, horizon: int) -> np.ndarray:
    """Rows that are real, open, observed days with at least H days of series history before them."""
    pos = positions(history[SERIES].to_numpy())
    return (
        (history[OPEN].to_numpy() > 0)
        & ~history[IMPUTED].to_numpy(bool)
        & history[SALES].notna().to_numpy()
        & (pos >= horizon)
    )


def _categorical(params: ForecasterParams, covariates: tuple[Covariate, ...]) -> list[str]:
    if params.feature_set == 1:
        return [SERIES_CODE]
    return [c.name for c in covariates
            if c.kind == CATEGORICAL and c.known_ahead and len(c.categories) <= MAX_LIGHTGBM_CATEGORIES]


def _dataset(features: pd.DataFrame, target: np.ndarray, categorical: list[str]) -> lgb.Dataset:
    """One binned training set for the point and quantile models of the same rows.

    Why shared: binning is the same for every objective (only booster parameters differ), and at a
    million rows it costs seconds per construction; LightGBM bins it once, at the first fit.
    """
    return lgb.Dataset(features, label=target, categorical_feature=categorical or "auto", free_raw_data=True,
                       params={"verbosity": -1})


def _fit(params: dict, data: lgb.Dataset, rounds: int) -> lgb.Booster:
    return lgb.train(params, data, num_boost_round=rounds)


def to_target(params: ForecasterParams, sales: np.ndarray) -> np.ndarray:
    """What the models learn: sales, or log1p(sales)."""
    return np.log1p(sales) if params.target_transform == "log1p" else sales


def from_target(params: ForecasterParams, values: npt.ArrayLike) -> np.ndarray:
    """Model output back to sales units (never negative)."""
    values = np.expm1(values) if params.target_transform == "log1p" else values
    return np.clip(values, 0.0, None)


def series_codes(series: pd.Series, start_from: dict[str, int] | None = None) -> dict[str, int]:
    """Integer code of each series (set 1's categorical feature): sorted names, or after ``start_from``'s."""
    codes = dict(start_from or {})
    for name in sorted(series.unique()):
        codes.setdefault(name, len(codes))
    return codes


@dataclass(frozen=True)
class _Inputs:
    """Everything ``train`` derives from a history before fitting."""

    params: ForecasterParams
    covariates: tuple[Covariate, ...]
    codes: dict[str, int]
    encodings: TargetEncodings | None

    def features(self, history: pd.DataFrame, horizon: int,
                 encodings: TargetEncodings | None = None) -> pd.DataFrame:
        return build_features(history, horizon, self.codes, feature_set=self.params.feature_set,
                              covariates=self.covariates, encodings=encodings or self.encodings)


def _encodings(history: pd.DataFrame, params: ForecasterParams, rows: np.ndarray) -> TargetEncodings | None:
    return fit_encodings(history.loc[rows]) if params.feature_set >= 2 and rows.any() else None


def train(history: pd.DataFrame, params: ForecasterParams | None = None,
          calibration_from: SalesForecaster | None = None, covariates: tuple[Covariate, ...] | None = None,
          intervals: bool = True) -> SalesForecaster:
    """Fit the point model(s) and the two quantile models on every usable row of ``history``.

    ``params.objective == "auto"`` is resolved first (``selection.choose_target`` on the last H days).
    ``calibration_from``: a forecaster trained on this history up to its last ``horizon`` days (the
    backtest's). Its quantile models were fitted on exactly the rows the calibration would fit them on,
    so they are reused when that holds (same parameters, cut-off day and row count): 2 of the 10 LightGBM
    fits of a backtest + train, ~27 s at 10M events. Series codes then continue its numbering, so the
    rows it saw keep their codes when series are new in the last days (40 new products at 10M events).
    ``intervals=False`` skips the quantile models (earlier backtest windows only score the point forecast):
    the returned forecaster's lower / upper are its point model, so its interval is empty.
    """
    params = params or ForecasterParams()
    history = ensure_history(history)
    covariates = infer_covariates(history) if covariates is None else tuple(covariates)
    if not params.resolved:
        from hashiramart_assets.ml.forecast.selection import choose_target

        params = choose_target(history, params, covariates).params
    codes = series_codes(history[SERIES], calibration_from.series_codes if calibration_from else None)
    mask = training_mask(history, params.horizon)
    if not mask.any():
        raise ValueError(
            f"no training rows: every series is shorter than the horizon ({params.horizon} days) or closed"
        )
    inputs = _Inputs(params, covariates, codes, _encodings(history, params, mask))
    categorical = _categorical(params, covariates)
    points = {}
    for horizon in params.model_horizons():
        rows = training_mask(history, horizon)
        x = inputs.features(history, horizon).loc[rows]
        y = to_target(params, history.loc[rows, SALES].to_numpy("float64"))
        points[horizon] = _fit(params.lightgbm_params(), _dataset(x, y, categorical), params.n_estimators)
    point = points.pop(params.horizon)
    lower = upper = point
    scale = 0.0
    if intervals:
        lower, upper, scale = _interval_models(history, inputs, mask, categorical, calibration_from)
    return SalesForecaster(
        params=params,
        point=point,
        lower=lower,
        upper=upper,
        series_codes=codes,
        train_end=pd.Timestamp(history[DATE].max()),
        n_train_rows=int(mask.sum()),
        interval_scale=scale,
        covariates=covariates,
        encodings=inputs.encodings,
        short_points=tuple(points[h] for h in params.model_horizons()[:-1]),
    )


def _interval_models(history: pd.DataFrame, inputs: _Inputs, mask: np.ndarray, categorical: list[str],
                     calibration_from: SalesForecaster | None) -> tuple[lgb.Booster, lgb.Booster, float]:
    """(lower, upper, conformal scale): quantile models on every row, calibrated on the last H days.

    The calibration rows' features use encodings fitted before the cut-off (the backtest's, when reused),
    so the held-back days are judged the way a forecast is: without their own sales in any feature.
    """
    params = inputs.params
    dates = history.loc[mask, DATE]
    cutoff = dates.max() - pd.Timedelta(days=params.horizon)
    calibration = (dates > cutoff).to_numpy()
    y = to_target(params, history.loc[mask, SALES].to_numpy("float64"))
    prefit = None
    before = None
    if (calibration_from is not None and calibration_from.params == params
            and calibration_from.train_end == cutoff
            and calibration_from.n_train_rows == int((~calibration).sum())):
        prefit = (calibration_from.lower, calibration_from.upper)
        before = calibration_from.encodings
    elif params.feature_set >= 2:
        rows_before = mask & (history[DATE] <= cutoff).to_numpy()
        before = _encodings(history, params, rows_before)
    x_all = inputs.features(history, params.horizon).loc[mask]
    x_cal = x_all if before is None else inputs.features(history, params.horizon, before).loc[mask]
    scale = interval_scale(params, x_cal, y, calibration, prefit, categorical)
    data = _dataset(x_all, y, categorical)
    low, high = params.quantiles
    return (_fit(params.lightgbm_params("quantile", low), data, params.n_estimators),
            _fit(params.lightgbm_params("quantile", high), data, params.n_estimators), scale)


MIN_CALIBRATION_ROWS = 30


def interval_scale(params: ForecasterParams, x: pd.DataFrame, y: np.ndarray, calibration: np.ndarray,
                   prefit: tuple[lgb.Booster, lgb.Booster] | None = None,
                   categorical: list[str] | None = None) -> float:
    """Conformal margin from the held-back ``calibration`` rows (0.0 when there are too few rows to judge).

    ``y`` is in the models' target space; scores are measured in sales units. Score of a row:
    max(lower - y, y - upper) / max(upper - lower, 1e-6); the margin is the score's
    ceil((n + 1) * coverage) / n empirical quantile, coverage = high - low quantile (0.8 for 0.1..0.9).
    ``prefit``: (lower, upper) quantile models already fitted on the rows before ``calibration``.
    """
    n = int(calibration.sum())
    if n < MIN_CALIBRATION_ROWS or calibration.all():
        return 0.0
    low, high = params.quantiles
    cal_x, cal_y = x.loc[calibration], from_target(params, y[calibration])
    if prefit is None:
        data = _dataset(x.loc[~calibration], y[~calibration], categorical or [])
        prefit = (_fit(params.lightgbm_params("quantile", low), data, params.n_estimators),
                  _fit(params.lightgbm_params("quantile", high), data, params.n_estimators))
    lower = from_target(params, prefit[0].predict(cal_x))
    upper = from_target(params, prefit[1].predict(cal_x))
    lower, upper = np.minimum(lower, upper), np.maximum(lower, upper)
    width = np.maximum(upper - lower, 1e-6)
    scores = np.maximum(lower - cal_y, cal_y - upper) / width
    level = min(1.0, np.ceil((n + 1) * (high - low)) / n)
    return float(np.quantile(scores, level, method="higher"))


def future_rows(history: pd.DataFrame, horizon: int, future: pd.DataFrame | None) -> pd.DataFrame:
    """The ``horizon`` days after each series' last date, with known covariates.

    Covariates come from ``future`` (columns series_id, date and any of promo/open/holiday/price or the
    history's ``x_*`` covariates) where given; otherwise promo 0, open 1, holiday 0, and the series' last
    known price and covariate values.
    """
    extra = covariate_columns(history)
    last = history.groupby(SERIES, sort=True)[[DATE, PRICE, *extra]].last()
    n = len(last)
    grid = pd.DataFrame(
        {
            SERIES: np.repeat(last.index.to_numpy(), horizon),
            DATE: np.repeat(last[DATE].to_numpy(), horizon) + np.tile(np.arange(1, horizon + 1), n).astype(
                "timedelta64[D]"),
        }
    )
    given = pd.DataFrame(index=grid.index)
    if future is not None:
        cols = [c for c in (*COVARIATES, *extra) if c in future.columns]
        keyed = future[[SERIES, DATE, *cols]].copy()
        keyed[SERIES] = keyed[SERIES].astype(str)
        keyed[DATE] = pd.to_datetime(keyed[DATE]).dt.normalize()
        keyed = keyed.drop_duplicates([SERIES, DATE], keep="first")
        given = grid.merge(keyed, on=[SERIES, DATE], how="left")
    for column in (*COVARIATES, *extra):
        values = pd.to_numeric(given[column], errors="coerce") if column in given else pd.Series(np.nan, grid.index)
        default: np.ndarray | float
        if column == PRICE or column in extra:
            default = np.repeat(last[column].to_numpy("float64"), horizon)
        else:
            default = DEFAULTS[column]
        grid[column] = np.where(values.isna(), default, values.to_numpy("float64"))
    grid[SALES] = np.nan
    grid[IMPUTED] = False
    return grid[[*HISTORY_COLUMNS, *extra]]


def _with_future(forecaster: SalesForecaster, history: pd.DataFrame, horizon: int | None,
                 future: pd.DataFrame | None) -> tuple[pd.DataFrame, np.ndarray, int]:
    """(history + future rows sorted by series and date, future-row mask, horizon)."""
    horizon = forecaster.params.horizon if horizon is None else horizon
    if not 1 <= horizon <= forecaster.params.horizon:
        raise ValueError(f"horizon must be in 1..{forecaster.params.horizon} (the trained one); got {horizon}")
    history = ensure_history(history)
    extra = covariate_columns(history)
    ahead = future_rows(history, horizon, future)
    combined = pd.concat([history[[*HISTORY_COLUMNS, *extra]], ahead], ignore_index=True)
    combined["_future"] = np.r_[np.zeros(len(history), bool), np.ones(len(ahead), bool)]
    combined = combined.sort_values([SERIES, DATE], kind="stable").reset_index(drop=True)
    is_future = combined.pop("_future").to_numpy()
    return combined, is_future, horizon


def _features(forecaster: SalesForecaster, frame: pd.DataFrame, horizon: int) -> pd.DataFrame:
    return build_features(frame, horizon, forecaster.series_codes, feature_set=forecaster.params.feature_set,
                          covariates=forecaster.covariates, encodings=forecaster.encodings)


def forecast_features(forecaster: SalesForecaster, history: pd.DataFrame, horizon: int | None = None,
                      future: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(future rows, the H-day point model's features) for the ``horizon`` days after each series' history."""
    combined, is_future, _ = _with_future(forecaster, history, horizon, future)
    features = _features(forecaster, combined, forecaster.params.horizon)
    return combined.loc[is_future].reset_index(drop=True), features.loc[is_future].reset_index(drop=True)


def predict(forecaster: SalesForecaster, history: pd.DataFrame, horizon: int | None = None,
            future: pd.DataFrame | None = None) -> pd.DataFrame:
    """Forecast, lower, upper for the H days after each series' last date (all >= 0, lower <= point <= upper).

    Days known to be closed (open=0 in ``future``) are forecast 0 with a [0, 0] interval.
    """
    combined, is_future, _ = _with_future(forecaster, history, horizon, future)
    rows = combined.loc[is_future].reset_index(drop=True)
    last_day = combined.loc[~is_future].groupby(SERIES)[DATE].max()
    step = (rows[DATE] - rows[SERIES].map(last_day)).dt.days.to_numpy()
    params = forecaster.params
    long_features = _features(forecaster, combined, params.horizon).loc[is_future].reset_index(drop=True)
    long_point = from_target(params, forecaster.point.predict(long_features))
    point = long_point.copy()
    done = np.zeros(len(rows), bool)
    for model_horizon, model in forecaster.point_models.items():
        if model_horizon == params.horizon:
            continue
        use = (step <= model_horizon) & ~done
        if use.any():
            features = _features(forecaster, combined, model_horizon).loc[is_future].reset_index(drop=True)
            point[use] = from_target(params, model.predict(features.loc[use]))
            done |= use
    lower = from_target(params, forecaster.lower.predict(long_features))
    upper = from_target(params, forecaster.upper.predict(long_features))
    lower, upper = np.minimum(lower, upper), np.maximum(lower, upper)
    margin = forecaster.interval_scale * (upper - lower)
    lower, upper = np.clip(lower - margin, 0.0, None), upper + margin
    # A short-horizon day: the interval moves with its point forecast, in proportion.
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(done & (long_point > 0), point / long_point, 1.0)
    lower, upper = lower * ratio, upper * ratio
    closed = rows[OPEN].to_numpy() <= 0
    point[closed] = lower[closed] = upper[closed] = 0.0
    # Quantile models are fitted separately and can cross the point forecast; the interval must contain it.
    lower, upper = np.minimum(lower, point), np.maximum(upper, point)
    return pd.DataFrame({SERIES: rows[SERIES], DATE: rows[DATE], "forecast": point, "lower": lower, "upper": upper})
