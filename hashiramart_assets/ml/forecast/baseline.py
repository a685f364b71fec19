"""The seasonal-naive baseline every forecast must beat: "same weekday, H or more days ago".

For each series and target day t it takes the sales of the most recent day d <= t - H with the same
weekday and, where the data has promotions, the same promo state as t (a promo Tuesday is compared with a
promo Tuesday). If no such day exists it falls back to the same weekday whatever the promo, then to 0.
Only open, observed days are candidates: a closed day's zero says nothing about demand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hashiramart_assets.ml.forecast.columns import DATE, IMPUTED, OPEN, PROMO, SALES, SERIES


def _latest_match(candidates: pd.DataFrame, targets: pd.DataFrame, horizon: int, by: list[str]) -> np.ndarray:
    """Sales of the latest candidate with equal ``by`` keys and date <= target date - H (NaN if none)."""
    left = targets[[*by, DATE]].copy()
    left["_row"] = np.arange(len(left))
    left["_key"] = left[DATE] - pd.Timedelta(days=horizon)
    right = candidates[[*by, DATE, SALES]].rename(columns={DATE: "_key"})
    merged = pd.merge_asof(left.sort_values("_key"), right.sort_values("_key"), on="_key", by=by,
                           direction="backward")
    out = np.full(len(left), np.nan)
    out[merged["_row"].to_numpy()] = merged[SALES].to_numpy("float64")
    return out


def seasonal_naive(history: pd.DataFrame, targets: pd.DataFrame, horizon: int, use_promo: bool = True) -> np.ndarray:
    """Baseline forecast for each row of ``targets`` (series_id, date and, if ``use_promo``, promo)."""
    candidates = history.loc[(history[OPEN] > 0) & ~history[IMPUTED].astype(bool)].copy()
    candidates["_weekday"] = pd.DatetimeIndex(candidates[DATE]).dayofweek
    wanted = targets.copy()
    wanted[DATE] = pd.to_datetime(wanted[DATE])
    wanted["_weekday"] = pd.DatetimeIndex(wanted[DATE]).dayofweek
    result = np.full(len(wanted), np.nan)
    if use_promo and PROMO in wanted.columns:
        candidates["_promo"] = candidates[PROMO].astype(float) > 0
        wanted["_promo"] = wanted[PROMO].astype(float) > 0
        result = _latest_match(candidates, wanted, horizon, [SERIES, "_weekday", "_promo"])
    fallback = _latest_match(candidates, wanted, horizon, [SERIES, "_weekday"])
    result = np.where(np.isnan(result), fallback, result)
    return np.where(np.isnan(result), 0.0, result)
