"""Forecast error measures, as plain functions of actuals and predictions (arrays of equal length).

Why several: WAPE is the headline (scale-free, robust to zeros, weights big sellers as the business
does); RMSE punishes big misses; RMSPE is the Rossmann competition measure; MAPE over non-zero days is what
people quote, but is undefined on zero days, hence the "nonzero"; coverage checks the 80 % interval.
Callers drop closed days before calling these.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ArrayLike = Sequence[float] | np.ndarray


def _pair(actual: ArrayLike, predicted: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    y, yhat = np.asarray(actual, dtype="float64"), np.asarray(predicted, dtype="float64")
    if y.shape != yhat.shape:
        raise ValueError(f"actual and predicted differ in shape: {y.shape} vs {yhat.shape}")
    return y, yhat


def wape(actual: ArrayLike, predicted: ArrayLike) -> float:
    """sum|y - ŷ| / sum|y|; NaN when there are no actual sales at all."""
    y, yhat = _pair(actual, predicted)
    denominator = np.abs(y).sum()
    return float(np.abs(y - yhat).sum() / denominator) if denominator > 0 else float("nan")


def rmse(actual: ArrayLike, predicted: ArrayLike) -> float:
    y, yhat = _pair(actual, predicted)
    return float(np.sqrt(np.mean((y - yhat) ** 2))) if y.size else float("nan")


def rmspe(actual: ArrayLike, predicted: ArrayLike) -> float:
    """sqrt(mean(((y - ŷ) / y)^2)) over the points with y > 0."""
    y, yhat = _pair(actual, predicted)
    keep = y > 0
    return float(np.sqrt(np.mean(((y[keep] - yhat[keep]) / y[keep]) ** 2))) if keep.any() else float("nan")


def mape_nonzero(actual: ArrayLike, predicted: ArrayLike) -> float:
    """mean(|y - ŷ| / y) over the points with y > 0."""
    y, yhat = _pair(actual, predicted)
    keep = y > 0
    return float(np.mean(np.abs(y[keep] - yhat[keep]) / y[keep])) if keep.any() else float("nan")


def interval_coverage(actual: ArrayLike, lower: ArrayLike, upper: ArrayLike) -> float:
    """Share of actuals with lower <= y <= upper."""
    y, lo = _pair(actual, lower)
    _, hi = _pair(actual, upper)
    return float(np.mean((y >= lo) & (y <= hi))) if y.size else float("nan")
