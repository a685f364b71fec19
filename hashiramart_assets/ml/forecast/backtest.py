"""Rolling-origin backtest: for each of the last ``backtest_windows`` H-day windows, train before it,
forecast it, score model and baseline on it; metrics pool every window and each window is reported too.

Why H-day windows: the model is a direct H-day forecaster, so the honest test is the situation it is
built for: standing at day T, forecast T+1..T+H, with no sales after T. Future covariates (promo, open,
holiday, price, the file's known-ahead columns) of a window are taken from the data, since they are
planned in advance. Why several windows: one window is one draw (a holiday, a heatwave); promotion
decided on it is noisy. Windows do not overlap and end at the last day: window k of n covers
(last - (n - k + 1) H, last - (n - k) H]. "auto" objective selection uses the H days before the first
window (selection.py), so no scored day takes part in a choice.
Only the last window fits quantile models (the final model reuses them, see model.train), so the interval
coverage is that window's; the point metrics are pooled over all of them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hashiramart_assets.ml.forecast.baseline import seasonal_naive
from hashiramart_assets.ml.forecast.columns import DATE, IMPUTED, OPEN, SALES, SERIES
from hashiramart_assets.ml.forecast.covariates import Covariate, covariate_columns
from hashiramart_assets.ml.forecast.history import ensure_history
from hashiramart_assets.ml.forecast.loading import load_sales_history
from hashiramart_assets.ml.forecast.metrics import interval_coverage, mape_nonzero, rmse, rmspe, wape
from hashiramart_assets.ml.forecast.model import COVARIATES, SalesForecaster, infer_covariates, predict, train
from hashiramart_assets.ml.forecast.params import ForecasterParams
from hashiramart_assets.ml.forecast.selection import Selection, choose_target

# Beyond the test window and one horizon of lags, the model needs some days to learn from.
MIN_TRAIN_DAYS = 14
BASELINE = "baseline_seasonal_naive"
POINT_METRICS = {"wape": wape, "rmse": rmse, "rmspe": rmspe, "mape_nonzero": mape_nonzero}
WINDOW_METRICS = ("wape", "rmspe", f"{BASELINE}_wape", f"{BASELINE}_rmspe")


@dataclass(frozen=True)
class BacktestResult:
    """``metrics``: the flat dict (pooled scores, n_series, n_eval_points, horizon, train_end of the last
    window, n_windows, window_{k}_{metric}); ``predictions``: one row per evaluated series-day (column
    ``window``); ``details``: counts (training rows, series only in the last window, closed days forecast 0);
    ``forecaster``: the model of the last window (its quantile models calibrate the final model);
    ``params``: the params with "auto" resolved; ``windows``: per-window figures; ``selection``: how the
    objective was chosen."""

    metrics: dict[str, float | int | str]
    predictions: pd.DataFrame
    details: dict[str, int]
    forecaster: SalesForecaster | None = None
    params: ForecasterParams | None = None
    windows: list[dict] = field(default_factory=list)
    selection: Selection | None = None


def required_days(horizon: int) -> int:
    """Shortest history span that allows a backtest: the window, one horizon of lags, MIN_TRAIN_DAYS."""
    return 2 * horizon + MIN_TRAIN_DAYS


def span_days(history: pd.DataFrame) -> int:
    return int((history[DATE].max() - history[DATE].min()).days) + 1


def windows_that_fit(history: pd.DataFrame, params: ForecasterParams) -> int:
    """How many of ``params.backtest_windows`` fit the history span (at least 1 if any backtest fits)."""
    room = span_days(history) - required_days(params.horizon)
    return max(1, min(params.backtest_windows, 1 + room // params.horizon))


def check_history_length(history: pd.DataFrame, horizon: int, source: str = "history") -> None:
    """ValueError (naming ``source`` and the numbers) when the data span is too short to backtest."""
    span = span_days(history)
    lengths = history.groupby(SERIES, sort=False)[DATE].size()
    needed = required_days(horizon)
    if span < needed:
        raise ValueError(
            f"{source}: too little history to backtest a {horizon}-day horizon: the data spans {span} days "
            f"({history[DATE].min().date()}..{history[DATE].max().date()}; longest series {int(lengths.max())} "
            f"days, shortest {int(lengths.min())}), need at least {needed} (2 x horizon + {MIN_TRAIN_DAYS})"
        )


def score(frame: pd.DataFrame, with_interval: bool = True) -> dict[str, float]:
    """All metrics of a predictions frame (columns actual, forecast, lower, upper, baseline)."""
    y = frame["actual"].to_numpy("float64")
    out = {name: fn(y, frame["forecast"].to_numpy("float64")) for name, fn in POINT_METRICS.items()}
    if with_interval:
        out["interval_coverage"] = interval_coverage(y, frame["lower"].to_numpy(), frame["upper"].to_numpy())
    for name, fn in POINT_METRICS.items():
        out[f"{BASELINE}_{name}"] = fn(y, frame["baseline"].to_numpy("float64"))
    return out


def window_origins(history: pd.DataFrame, params: ForecasterParams) -> list[pd.Timestamp]:
    """Last training day of each window, oldest first."""
    last = pd.Timestamp(history[DATE].max())
    n = windows_that_fit(history, params)
    return [last - pd.Timedelta(days=params.horizon * k) for k in range(n, 0, -1)]


def _one_window(history: pd.DataFrame, origin: pd.Timestamp, params: ForecasterParams,
                covariates: tuple[Covariate, ...], last: bool) -> tuple[pd.DataFrame, SalesForecaster, int]:
    """(evaluated rows, the window's forecaster, closed days forecast 0) of the window after ``origin``."""
    horizon = params.horizon
    past = history.loc[history[DATE] <= origin].reset_index(drop=True)
    window = history.loc[(history[DATE] > origin)
                         & (history[DATE] <= origin + pd.Timedelta(days=horizon))].reset_index(drop=True)
    forecaster = train(past, params, covariates=covariates, intervals=last)
    known = [*COVARIATES, *covariate_columns(window)]
    forecasts = predict(forecaster, past, horizon, future=window[[SERIES, DATE, *known]])
    frame = window.merge(forecasts, on=[SERIES, DATE], how="inner").rename(columns={SALES: "actual"})
    frame["baseline"] = seasonal_naive(past, frame, horizon)
    closed = int((frame[OPEN] <= 0).sum())
    evaluated = frame.loc[(frame[OPEN] > 0) & ~frame[IMPUTED]].reset_index(drop=True)
    return evaluated, forecaster, closed


def backtest(history: pd.DataFrame, params: ForecasterParams | None = None,
             covariates: tuple[Covariate, ...] | None = None) -> BacktestResult:
    """Score the model on the last ``backtest_windows`` H-day windows (as many as the span allows)."""
    params = params or ForecasterParams()
    history = ensure_history(history)
    check_history_length(history, params.horizon)
    covariates = infer_covariates(history) if covariates is None else tuple(covariates)
    origins = window_origins(history, params)
    selection = choose_target(history.loc[history[DATE] <= origins[0]].reset_index(drop=True), params,
                              covariates)
    params = selection.params
    windows: list[dict[str, Any]]  # per window: its number, train end, row count and scores
    frames, windows, closed_total = [], [], 0
    forecaster: SalesForecaster | None = None
    for k, origin in enumerate(origins, start=1):
        evaluated, forecaster, closed = _one_window(history, origin, params, covariates, last=k == len(origins))
        closed_total += closed
        if evaluated.empty:
            continue
        evaluated["window"] = k
        frames.append(evaluated)
        figures = score(evaluated, with_interval=k == len(origins))
        windows.append({"window": k, "train_end": str(origin.date()), "n_eval_points": len(evaluated),
                        **{name: round(float(v), 6) for name, v in figures.items()}})
    if not frames:
        raise ValueError("backtest windows have no open, observed day to evaluate")
    pooled = pd.concat(frames, ignore_index=True)
    last_frame = pooled.loc[pooled["window"] == len(origins)]
    metrics: dict[str, float | int | str] = {
        **score(pooled, with_interval=False),
        "interval_coverage": interval_coverage(last_frame["actual"].to_numpy("float64"),
                                               last_frame["lower"].to_numpy(), last_frame["upper"].to_numpy())
        if len(last_frame) else float("nan"),
        "n_series": int(pooled[SERIES].nunique()),
        "n_eval_points": len(pooled),
        "horizon": params.horizon,
        "train_end": str(origins[-1].date()),
        "n_windows": len(windows),
    }
    for figures in windows:
        for name in WINDOW_METRICS:
            metrics[f"window_{figures['window']}_{name}"] = figures[name]
    past = history.loc[history[DATE] <= origins[-1]]
    details = {
        "n_series_without_history": int(history.loc[(history[DATE] > origins[-1]) & ~history[SERIES].isin(
            past[SERIES]), SERIES].nunique()),
        "n_train_rows": forecaster.n_train_rows if forecaster else 0,
        "n_closed_days_forecast_zero": closed_total,
    }
    columns = [SERIES, DATE, "window", "actual", "forecast", "lower", "upper", "baseline", *COVARIATES]
    return BacktestResult(metrics=metrics, predictions=pooled[columns], details=details, forecaster=forecaster,
                          params=params, windows=windows, selection=selection)


def _json_number(value: object) -> object:
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value


def run_backtest_file(path: str | Path, horizon: int = 28, params: ForecasterParams | None = None,
                      attributes_path: str | Path | None = None, windows: int | None = None) -> dict:
    """Load a sales file (and a per-series attributes file), backtest it, return a JSON-serialisable report.

    Keys: file, horizon, load (input/accepted/rejected rows, by reason, gaps filled, covariates, ...),
    metrics (the flat backtest dict), windows (per-window figures), selection (objective chosen, each
    candidate's validation score), details, params (resolved), seconds (timings).
    """
    params = (params or ForecasterParams()).replace(horizon=horizon)
    if windows is not None:
        params = params.replace(backtest_windows=windows)
    started = time.perf_counter()
    loaded = load_sales_history(path, attributes_path=attributes_path)
    loaded_at = time.perf_counter()
    check_history_length(loaded.history, horizon, source=str(path))
    result = backtest(loaded.history, params, covariates=loaded.covariates)
    finished = time.perf_counter()
    assert result.params is not None  # backtest() returns the params it used
    selection = result.selection
    return {
        "file": str(path),
        "horizon": horizon,
        "load": loaded.report.to_dict(),
        "metrics": {k: _json_number(v) for k, v in result.metrics.items()},
        "windows": result.windows,
        "selection": {"chosen": f"{result.params.objective}/{result.params.target_transform}",
                      "how": selection.how if selection else "",
                      "scores": {k: _json_number(v) for k, v in (selection.scores if selection else {}).items()}},
        "details": result.details,
        "params": (result.params or params).to_dict(),
        "seconds": {"load": round(loaded_at - started, 3), "backtest": round(finished - loaded_at, 3)},
    }
