"""Feature rows for direct forecasting H days ahead: every sales-derived value comes from >= H days back.

Why direct and not recursive: one model answers "sales on day t given what was known on t-H", so a
forecast never feeds on its own predictions and the backtest measures exactly what production does.
All sales features are computed by position within a gap-free series (see ``history``), so "k rows back"
is "k days back". Sales of closed days (open=0) are treated as unknown in those features: a closed Sunday
says nothing about demand. Promo, open, holiday and price of the target day are known in advance
(promotion calendars, opening plans, price lists), so they are used for the day itself.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hashiramart_assets.ml.forecast.columns import DATE, HOLIDAY, IMPUTED, OPEN, PRICE, PROMO, SALES, SERIES
from hashiramart_assets.ml.forecast.covariates import Covariate
from hashiramart_assets.ml.forecast.encodings import ENCODING_COLUMNS, TargetEncodings, apply_encodings

SERIES_CODE = "series_code"
ROLL_WINDOWS = (7, 28, 91)
STD_WINDOWS = (7, 28)
PRICE_WINDOW = 91
PROXIMITY_CAP = 15  # days; further than this from a closed day or holiday counts as "far"
PROXIMITY_COLUMNS = ("days_since_closed", "days_to_closed", "days_since_holiday", "days_to_holiday", "promo_run_day")
OUTCOME_WINDOW = 28


def weekly_anchor(horizon: int) -> int:
    """Smallest multiple of 7 that is >= H: the nearest lag that is both allowed and on the same weekday."""
    return 7 * math.ceil(horizon / 7)


def lags_for(horizon: int) -> list[int]:
    """Lags used for horizon H: H itself, the same-weekday lags from the weekly anchor on, and ~a year."""
    anchor = weekly_anchor(horizon)
    yearly = 364 * math.ceil(horizon / 364)
    return sorted({horizon, anchor, anchor + 7, anchor + 14, yearly})


def covariate_feature(covariate: Covariate) -> str:
    """Feature name of a covariate: its own column if known ahead, else its past mean."""
    return covariate.name if covariate.known_ahead else f"{covariate.name}_past_{OUTCOME_WINDOW}"


def feature_columns(horizon: int, feature_set: int = 2, covariates: tuple[Covariate, ...] = ()) -> list[str]:
    """The model's input columns, in order (the order is part of the trained model's contract).

    Set 1 (models trained before target encodings) starts with the categorical series code; set 2 has no
    series code, and adds encodings, proximity to closed days / holidays and the file's covariates.
    """
    common = [
        *(f"lag_{k}" for k in lags_for(horizon)),
        *(f"roll_mean_{w}" for w in ROLL_WINDOWS),
        *(f"roll_std_{w}" for w in STD_WINDOWS),
        "wday_mean_4", "wday_mean_8", "level", "wday_rel", "history_days",
        "day_of_week", "day_of_month", "month", "week_of_year", "day_of_year", "is_weekend",
        PROMO, OPEN, HOLIDAY, PRICE, "price_rel",
    ]
    if feature_set == 1:
        return [SERIES_CODE, *common]
    return [*common, *ENCODING_COLUMNS, *PROXIMITY_COLUMNS, *(covariate_feature(c) for c in covariates)]


def days_since(flag: np.ndarray, pos: np.ndarray, cap: int = PROXIMITY_CAP) -> np.ndarray:
    """Days since the latest flagged row strictly before each row, within its series; ``cap`` if none/far."""
    idx = np.arange(len(flag))
    latest = np.maximum.accumulate(np.where(flag, idx, -1)) if len(flag) else idx
    before = np.full(len(flag), -1)
    before[1:] = latest[:-1]
    start = idx - pos
    out = np.where(before >= start, idx - before, cap)
    return np.minimum(out, cap).astype("float64")


def days_to(flag: np.ndarray, pos: np.ndarray, cap: int = PROXIMITY_CAP) -> np.ndarray:
    """Days until the next flagged row strictly after each row, within its series; ``cap`` if none/far."""
    if len(flag) == 0:
        return np.zeros(0)
    series = np.cumsum(pos == 0)
    reversed_pos = positions(series[::-1])
    return days_since(flag[::-1], reversed_pos, cap)[::-1]


def run_day(flag: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """1, 2, 3 ... along each run of consecutive flagged rows of a series, 0 where not flagged."""
    idx = np.arange(len(flag))
    previous = np.r_[False, flag[:-1]] if len(flag) else flag
    begins = flag & ((pos == 0) | ~previous)
    start = np.maximum.accumulate(np.where(begins, idx, -1)) if len(flag) else idx
    return np.where(flag, idx - start + 1, 0).astype("float64")


def positions(series: np.ndarray) -> np.ndarray:
    """0-based position of each row within its series (rows sorted by series, then date)."""
    n = len(series)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.ones(n, dtype=bool)
    new[1:] = series[1:] != series[:-1]
    starts = np.flatnonzero(new)
    lengths = np.diff(np.append(starts, n))
    return np.arange(n) - np.repeat(starts, lengths)


def shift(values: np.ndarray, pos: np.ndarray, k: int) -> np.ndarray:
    """values[i - k] within the same series, NaN for the first k rows of a series."""
    out = np.full(len(values), np.nan)
    if k < len(values):
        out[k:] = values[:-k] if k else values
    out[pos < k] = np.nan
    return out


def rolling(values: np.ndarray, pos: np.ndarray, window: int, min_periods: int) -> tuple[np.ndarray, np.ndarray]:
    """NaN-aware (mean, std) over the last ``window`` rows of each series, ending at the row itself.

    Prefix sums make it O(n) for any window; the difference of two prefix sums only involves rows up to
    the current one, so later values can never leak in. The sums restart at each series' first row, so
    a row's value depends on its own series' past only, bit for bit: a history cut at any day gives the
    same features for the rows it keeps (what lets ``train`` reuse the backtest's models, see model.py).
    """
    valid = ~np.isnan(values)
    x = np.where(valid, values, 0.0)
    series = np.cumsum(pos == 0)
    sums = pd.DataFrame({"x": x, "xx": x * x}).groupby(series, sort=False).cumsum()
    csum, csq = sums["x"].to_numpy(), sums["xx"].to_numpy()
    ccount = np.cumsum(valid)  # integers: exact whatever came before
    idx = np.arange(len(values))
    back = np.minimum(pos, window - 1)  # the window covers rows idx - back .. idx
    inner = back < pos  # the window starts after the series' first row: subtract the sums before it
    before = np.where(inner, idx - back - 1, 0)
    count = ccount[idx] - np.where(back < idx, ccount[np.maximum(idx - back - 1, 0)], 0)
    total = csum[idx] - np.where(inner, csum[before], 0.0)
    squares = csq[idx] - np.where(inner, csq[before], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
        var = np.maximum(squares / count - mean * mean, 0.0) * count / np.maximum(count - 1, 1)
    enough = count >= min_periods
    return np.where(enough, mean, np.nan), np.where(enough & (count > 1), np.sqrt(var), np.nan)


def nanmean_rows(stack: np.ndarray) -> np.ndarray:
    """Column-wise mean ignoring NaN; NaN (without a warning) where a column has no value at all."""
    count = (~np.isnan(stack)).sum(axis=0)
    total = np.nansum(stack, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def build_features(frame: pd.DataFrame, horizon: int, series_codes: dict[str, int], *, feature_set: int = 2,
                   covariates: tuple[Covariate, ...] = (), encodings: TargetEncodings | None = None) -> pd.DataFrame:
    """Feature rows (``feature_columns`` order) for every row of a canonical, gap-free frame.

    ``frame`` may end with future rows whose sales are NaN: with lags >= H their features only use rows
    at least H days before, which must be actual history. Set 2 needs ``encodings`` (fitted on training
    rows, see encodings.py); without them the encoding columns are NaN (a model fits them first).
    """
    series = frame[SERIES].to_numpy()
    pos = positions(series)
    dates = pd.DatetimeIndex(frame[DATE])
    open_day = frame[OPEN].to_numpy("float64") > 0
    observed = np.where(open_day & ~frame[IMPUTED].to_numpy(bool), frame[SALES].to_numpy("float64"), np.nan)
    known = shift(observed, pos, horizon)  # sales as known H days before the row's date

    out: dict[str, np.ndarray] = {
        SERIES_CODE: pd.Series(series).map(series_codes).fillna(-1).to_numpy("int64"),
    }
    for k in lags_for(horizon):
        out[f"lag_{k}"] = shift(observed, pos, k)
    for w in ROLL_WINDOWS:
        mean, std = rolling(known, pos, w, min_periods=max(1, w // 4))
        out[f"roll_mean_{w}"] = mean
        if w in STD_WINDOWS:
            out[f"roll_std_{w}"] = std
    anchor = weekly_anchor(horizon)
    same_weekday = np.vstack([shift(observed, pos, anchor + 7 * j) for j in range(8)])
    out["wday_mean_4"] = nanmean_rows(same_weekday[:4])
    out["wday_mean_8"] = nanmean_rows(same_weekday)
    level, _ = rolling(known, pos, window=len(known) + 1, min_periods=1)  # expanding: the series' level
    out["level"] = level
    with np.errstate(invalid="ignore", divide="ignore"):
        out["wday_rel"] = np.where(level > 0, out["wday_mean_8"] / level, np.nan)
    out["history_days"] = np.maximum(pos - horizon + 1, 0).astype("float64")

    out["day_of_week"] = dates.dayofweek.to_numpy()
    out["day_of_month"] = dates.day.to_numpy()
    out["month"] = dates.month.to_numpy()
    out["week_of_year"] = dates.isocalendar().week.to_numpy("int64")
    out["day_of_year"] = dates.dayofyear.to_numpy()
    out["is_weekend"] = (dates.dayofweek >= 5).astype("int64")
    for column in (PROMO, OPEN, HOLIDAY, PRICE):
        out[column] = frame[column].to_numpy("float64")
    price_mean, _ = rolling(shift(frame[PRICE].to_numpy("float64"), pos, horizon), pos, PRICE_WINDOW, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["price_rel"] = np.where(price_mean > 0, out[PRICE] / price_mean, np.nan)
    if feature_set >= 2:
        out.update(_set_two(frame, pos, dates, horizon, covariates, encodings))
    features = pd.DataFrame(out, index=frame.index)
    return features[feature_columns(horizon, feature_set, covariates)]


def _set_two(frame: pd.DataFrame, pos: np.ndarray, dates: pd.DatetimeIndex, horizon: int,
             covariates: tuple[Covariate, ...], encodings: TargetEncodings | None) -> dict[str, np.ndarray]:
    """Encodings, proximity and covariate features (all known for the target day, or >= H days old)."""
    out: dict[str, np.ndarray] = {}
    if encodings is not None:
        out.update(apply_encodings(encodings, frame[SERIES].to_numpy(), dates, frame[PROMO].to_numpy()))
    else:
        out.update({name: np.full(len(frame), np.nan) for name in ENCODING_COLUMNS})
    closed = frame[OPEN].to_numpy("float64") <= 0
    holiday = frame[HOLIDAY].to_numpy("float64") > 0
    out["days_since_closed"], out["days_to_closed"] = days_since(closed, pos), days_to(closed, pos)
    out["days_since_holiday"], out["days_to_holiday"] = days_since(holiday, pos), days_to(holiday, pos)
    out["promo_run_day"] = run_day(frame[PROMO].to_numpy("float64") > 0, pos)
    for covariate in covariates:
        values = frame[covariate.name].to_numpy("float64") if covariate.name in frame else np.full(len(frame), np.nan)
        if covariate.known_ahead:
            out[covariate.name] = values
        else:
            # A closed day's 0 customers says nothing, as with sales.
            values = np.where(closed, np.nan, values)
            mean, _ = rolling(shift(values, pos, horizon), pos, OUTCOME_WINDOW, min_periods=1)
            out[covariate_feature(covariate)] = mean
    return out
