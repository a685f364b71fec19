"""Backtest on the last horizon window: train before it, forecast it, score model and baseline on it.

Why one window of length H: the model is a direct H-day forecaster, so the honest test is the situation
it is built for — standing at day T, forecast T+1..T+H, with no sales after T. Future covariates (promo,
open, holiday, price) of the window are taken from the data, since they are planned in advance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hashiramart_assets.ml.forecast.baseline import seasonal_naive
from hashiramart_assets.ml.forecast.columns import DATE, IMPUTED, OPEN, SALES, SERIES
from hashiramart_assets.ml.forecast.history import ensure_history
from hashiramart_assets.ml.forecast.loading import load_sales_history
from hashiramart_assets.ml.forecast.metrics import interval_coverage, mape_nonzero, rmse, rmspe, wape
from hashiramart_assets.ml.forecast.model import COVARIATES, SalesForecaster, predict, train
from hashiramart_assets.ml.forecast.params import ForecasterParams

# Beyond the test window and one horizon of lags, the model needs some days to learn from.
MIN_TRAIN_DAYS = 14
BASELINE = "baseline_seasonal_naive"
POINT_METRICS = {"wape": wape, "rmse": rmse, "rmspe": rmspe, "mape_nonzero": mape_nonzero}


@dataclass(frozen=True)
class BacktestResult:
    """``metrics``: exactly the agreed flat dict (scores, n_series, n_eval_points, horizon, train_end);
    ``predictions``: one row per evaluated series-day; ``details``: extra counts (training rows, series
    that appear only in the test window and so could not be forecast); ``forecaster``: the model trained
    on the days before the window (its quantile models can calibrate the final model, see ``train``)."""

    metrics: dict[str, float | int | str]
    predictions: pd.DataFrame
    details: dict[str, int]
    forecaster: SalesForecaster | None = None


def required_days(horizon: int) -> int:
    """Shortest history span that allows a backtest: the window, one horizon of lags, MIN_TRAIN_DAYS."""
    return 2 * horizon + MIN_TRAIN_DAYS


def check_history_length(history: pd.DataFrame, horizon: int, source: str = "history") -> None:
    """ValueError (naming ``source`` and the numbers) when the data span is too short to backtest."""
    span = int((history[DATE].max() - history[DATE].min()).days) + 1
    lengths = history.groupby(SERIES, sort=False)[DATE].size()
    needed = required_days(horizon)
    if span < needed:
        raise ValueError(
            f"{source}: too little history to backtest a {horizon}-day horizon: the data spans {span} days "
            f"({history[DATE].min().date()}..{history[DATE].max().date()}; longest series {int(lengths.max())} "
            f"days, shortest {int(lengths.min())}), need at least {needed} (2 x horizon + {MIN_TRAIN_DAYS})"
        )


def score(frame: pd.DataFrame) -> dict[str, float]:
    """All metrics of a predictions frame (columns actual, forecast, lower, upper, baseline)."""
    y = frame["actual"].to_numpy("float64")
    out = {name: fn(y, frame["forecast"].to_numpy("float64")) for name, fn in POINT_METRICS.items()}
    out["interval_coverage"] = interval_coverage(y, frame["lower"].to_numpy(), frame["upper"].to_numpy())
    for name, fn in POINT_METRICS.items():
        out[f"{BASELINE}_{name}"] = fn(y, frame["baseline"].to_numpy("float64"))
    return out


def backtest(history: pd.DataFrame, params: ForecasterParams | None = None) -> BacktestResult:
    """Train on all days up to T = last date - H, forecast T+1..T+H, score open observed days."""
    params = params or ForecasterParams()
    horizon = params.horizon
    history = ensure_history(history)
    check_history_length(history, horizon)
    train_end = history[DATE].max() - pd.Timedelta(days=horizon)
    past = history.loc[history[DATE] <= train_end].reset_index(drop=True)
    window = history.loc[history[DATE] > train_end].reset_index(drop=True)
    forecaster = train(past, params)
    forecasts = predict(forecaster, past, horizon, future=window[[SERIES, DATE, *COVARIATES]])
    frame = window.merge(forecasts, on=[SERIES, DATE], how="inner").rename(columns={SALES: "actual"})
    frame["baseline"] = seasonal_naive(past, frame, horizon)
    evaluated = frame.loc[(frame[OPEN] > 0) & ~frame[IMPUTED]].reset_index(drop=True)
    if evaluated.empty:
        raise ValueError("backtest window has no open, observed day to evaluate")
    metrics: dict[str, float | int | str] = {
        **score(evaluated),
        "n_series": int(evaluated[SERIES].nunique()),
        "n_eval_points": len(evaluated),
        "horizon": horizon,
        "train_end": str(train_end.date()),
    }
    details = {
        "n_series_without_history": int(window.loc[~window[SERIES].isin(past[SERIES]), SERIES].nunique()),
        "n_train_rows": forecaster.n_train_rows,
    }
    columns = [SERIES, DATE, "actual", "forecast", "lower", "upper", "baseline", *COVARIATES]
    return BacktestResult(metrics=metrics, predictions=evaluated[columns], details=details, forecaster=forecaster)


def _json_number(value: object) -> object:
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def run_backtest_file(path: str | Path, horizon: int = 28, params: ForecasterParams | None = None) -> dict:
    """Load a sales file, backtest it, and return a JSON-serialisable report (what the CLI prints).

    Keys: file, horizon, load (input/accepted/rejected rows, by reason, gaps filled, ...), metrics (the
    flat backtest dict), details (training rows, series without history), params, seconds (timings).
    """
    params = (params or ForecasterParams()).replace(horizon=horizon)
    started = time.perf_counter()
    loaded = load_sales_history(path)
    loaded_at = time.perf_counter()
    check_history_length(loaded.history, horizon, source=str(path))
    result = backtest(loaded.history, params)
    finished = time.perf_counter()
    return {
        "file": str(path),
        "horizon": horizon,
        "load": loaded.report.to_dict(),
        "metrics": {k: _json_number(v) for k, v in result.metrics.items()},
        "details": result.details,
        "params": params.to_dict(),
        "seconds": {"load": round(loaded_at - started, 3), "backtest": round(finished - loaded_at, 3)},
    }
