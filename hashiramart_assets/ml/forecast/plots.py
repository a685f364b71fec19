"""Backtest figures for the forecaster's MLflow run: forecast vs actual, and the interval vs actuals.

Both figures show the backtest's last window (the one whose interval is scored, see backtest.py):
  - ``forecast_vs_actual``: the total over every series per day (actual, forecast, seasonal-naive
    baseline), then the best-selling series one panel each;
  - ``interval``: the same series with the interval band and the actuals, days outside the band marked,
    and the share of actuals inside the band by day of the horizon against the nominal level.
The interval is shown per series only: a sum of per-series bounds is not an interval of the total.

Why ``matplotlib.figure.Figure`` and not pyplot: no global figure state and no GUI backend (the Agg
canvas renders it), so it is safe in Dagster's worker threads. MLflow requires matplotlib, so it is
always installed; it is imported lazily because it is slow to import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from hashiramart_assets.ml.forecast.columns import DATE, SERIES

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

FIGURE_DIR = "backtest"
FORECAST_VS_ACTUAL = f"{FIGURE_DIR}/forecast_vs_actual.png"
INTERVAL = f"{FIGURE_DIR}/interval.png"
TOP_SERIES = 3
ACTUAL_COLOR, FORECAST_COLOR, BASELINE_COLOR, MISS_COLOR = "#333333", "#4e79a7", "#9c9c9c", "#c0392b"
PREDICTION_COLUMNS = (SERIES, DATE, "window", "actual", "forecast", "lower", "upper")


def last_window(predictions: pd.DataFrame) -> pd.DataFrame:
    """Rows of the backtest's last window, dates as datetime64, sorted by series and date."""
    missing = [c for c in PREDICTION_COLUMNS if c not in predictions.columns]
    if missing:
        raise ValueError(f"backtest predictions are missing column(s) {missing}")
    frame = predictions.loc[predictions["window"] == predictions["window"].max()].copy()
    frame[DATE] = pd.to_datetime(frame[DATE])
    return frame.sort_values([SERIES, DATE], kind="stable").reset_index(drop=True)


def top_series(window: pd.DataFrame, n: int = TOP_SERIES) -> list[str]:
    """The ``n`` series with the most actual sales in the window (ties: by name)."""
    totals = window.groupby(SERIES)["actual"].sum()
    order = sorted(totals.index, key=lambda s: (-float(totals[s]), str(s)))
    return [str(s) for s in order[:n]]


def _date_axis(ax: Axes) -> None:
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.grid(alpha=0.3)


def _figure(rows: int, height: float) -> tuple[Figure, list[Axes]]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, height * rows), dpi=100, layout="constrained")
    axes = figure.subplots(rows, 1, squeeze=False)[:, 0]
    return figure, list(axes)


def _wape(actual: np.ndarray, forecast: np.ndarray) -> float:
    total = float(np.abs(actual).sum())
    return float(np.abs(actual - forecast).sum() / total) if total > 0 else float("nan")


def forecast_vs_actual_figure(predictions: pd.DataFrame, n_series: int = TOP_SERIES) -> Figure:
    """Total per day over every series, then the top ``n_series`` series: actual, forecast and baseline."""
    window = last_window(predictions)
    series = top_series(window, n_series)
    figure, axes = _figure(1 + len(series), 2.6)
    has_baseline = "baseline" in window.columns
    columns = ["actual", "forecast", *(["baseline"] if has_baseline else [])]
    total = window.groupby(DATE)[columns].sum()
    panels = [("all series (total)", total)] + [
        (name, window.loc[window[SERIES] == name].set_index(DATE)[columns]) for name in series]
    for ax, (title, frame) in zip(axes, panels, strict=True):
        ax.plot(frame.index, frame["actual"], color=ACTUAL_COLOR, marker="o", markersize=3, linewidth=1.2,
                label="actual")
        ax.plot(frame.index, frame["forecast"], color=FORECAST_COLOR, linewidth=1.8, label="forecast")
        if has_baseline:
            ax.plot(frame.index, frame["baseline"], color=BASELINE_COLOR, linestyle="--", linewidth=1.0,
                    label="seasonal naive")
        wape = _wape(frame["actual"].to_numpy("float64"), frame["forecast"].to_numpy("float64"))
        ax.set_title(f"{title}: WAPE {wape:.3f}", fontsize=10, loc="left")
        ax.set_ylabel("units")
        _date_axis(ax)
    axes[0].legend(loc="upper left", fontsize=8, ncols=3)
    start, end = window[DATE].min().date(), window[DATE].max().date()
    figure.suptitle(f"Backtest, last window {start}..{end}: forecast vs actual", fontsize=11)
    return figure


def _coverage_by_step(window: pd.DataFrame) -> pd.Series:
    """Share of actuals inside [lower, upper] by day of the horizon (1 = the first day after training)."""
    first = window[DATE].min()
    step = (window[DATE] - first).dt.days + 1
    inside = (window["actual"] >= window["lower"]) & (window["actual"] <= window["upper"])
    return inside.groupby(step).mean()


def interval_figure(predictions: pd.DataFrame, level: float = 0.8, n_series: int = TOP_SERIES) -> Figure:
    """The interval band vs actuals for the top ``n_series`` series, and coverage by horizon day vs ``level``."""
    window = last_window(predictions)
    series = top_series(window, n_series)
    figure, axes = _figure(1 + len(series), 2.6)
    percent = f"{level:.0%}"
    for ax, name in zip(axes, series, strict=False):
        frame = window.loc[window[SERIES] == name]
        ax.fill_between(frame[DATE], frame["lower"], frame["upper"], color=FORECAST_COLOR, alpha=0.25,
                        linewidth=0, label=f"{percent} interval")
        ax.plot(frame[DATE], frame["forecast"], color=FORECAST_COLOR, linewidth=1.5, label="forecast")
        outside = (frame["actual"] < frame["lower"]) | (frame["actual"] > frame["upper"])
        ax.scatter(frame.loc[~outside, DATE], frame.loc[~outside, "actual"], color=ACTUAL_COLOR, s=12,
                   zorder=3, label="actual")
        ax.scatter(frame.loc[outside, DATE], frame.loc[outside, "actual"], color=MISS_COLOR, s=18, marker="x",
                   zorder=3, label="actual outside")
        ax.set_title(f"{name}: {1 - outside.mean():.0%} of actuals inside", fontsize=10, loc="left")
        ax.set_ylabel("units")
        _date_axis(ax)
    if series:
        axes[0].legend(loc="upper left", fontsize=8, ncols=4)
    coverage = _coverage_by_step(window)
    ax = axes[-1]
    ax.bar(coverage.index, coverage.to_numpy(), color=FORECAST_COLOR, alpha=0.7, label="inside the interval")
    ax.axhline(level, color=MISS_COLOR, linestyle="--", linewidth=1.2, label=f"nominal {percent}")
    inside = ((window["actual"] >= window["lower"]) & (window["actual"] <= window["upper"])).mean()
    ax.set_title(f"all {window[SERIES].nunique()} series: coverage {inside:.1%} by day of the horizon",
                 fontsize=10, loc="left")
    ax.set_xlabel("day of the horizon")
    ax.set_ylim(0, 1.05)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(loc="lower left", fontsize=8)
    figure.suptitle(f"Backtest, last window: {percent} interval vs actuals", fontsize=11)
    return figure


def log_backtest_figures(predictions: pd.DataFrame, quantiles: Sequence[float] = (0.1, 0.9)) -> list[str]:
    """Log both figures to the active MLflow run; return their artifact paths (none without predictions)."""
    import mlflow

    if predictions.empty:
        return []
    level = float(quantiles[1] - quantiles[0])
    logged = []
    for path, figure in ((FORECAST_VS_ACTUAL, forecast_vs_actual_figure(predictions)),
                         (INTERVAL, interval_figure(predictions, level))):
        mlflow.log_figure(figure, path)
        logged.append(path)
    return logged
