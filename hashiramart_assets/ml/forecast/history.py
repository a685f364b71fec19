"""Normalising an already-typed history: default columns, one row per series-day, calendar-correct order.

Why fill gaps: every lag and rolling feature is computed by position within a series, so "28 rows back"
must mean "28 days back". A missing day becomes a row with sales 0. If the source has an ``open`` column, a
missing day is taken as a closed day (open=0; the usual reason for a hole in store data such as Rossmann's
refurbishments) and flagged ``imputed``: never a training target or an evaluation point. Without an
``open`` column it stays open=1 and counts as a real day without sales (sparse exports such as M5's
leave zero days out). Days whose row was rejected by the loader (``unknown``) are always ``imputed``:
we know a value existed but not what it was.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hashiramart_assets.ml.forecast.columns import (
    DATE,
    DEFAULTS,
    HISTORY_COLUMNS,
    IMPUTED,
    OPEN,
    OPTIONAL,
    PRICE,
    REQUIRED,
    SALES,
    SERIES,
)
from hashiramart_assets.ml.forecast.covariates import covariate_columns


def fill_gaps(history: pd.DataFrame, has_open_column: bool,
              unknown: pd.DataFrame | None = None) -> tuple[pd.DataFrame, int]:
    """Reindex each series to every day from its first to its last date; return (frame, rows added).

    ``unknown``: (series_id, date) keys of days known to have had a row we could not use.
    """
    spans = history.groupby(SERIES, sort=True, observed=True)[DATE].agg(["min", "max"])
    lengths = ((spans["max"] - spans["min"]).dt.days + 1).to_numpy()
    if lengths.sum() == len(history):
        return history.sort_values([SERIES, DATE], kind="stable").reset_index(drop=True), 0
    series = np.repeat(spans.index.to_numpy(), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    dates = np.repeat(spans["min"].to_numpy(), lengths) + offsets.astype("timedelta64[D]")
    grid = pd.DataFrame({SERIES: series, DATE: dates})
    full = grid.merge(history, on=[SERIES, DATE], how="left", indicator=True)
    added = full["_merge"].eq("left_only").to_numpy()
    full = full.drop(columns="_merge")
    full.loc[added, SALES] = 0.0
    full.loc[added, IMPUTED] = has_open_column
    if unknown is not None and len(unknown):
        keys = pd.MultiIndex.from_frame(unknown[[SERIES, DATE]].astype({SERIES: str, DATE: "datetime64[ns]"}))
        known_bad = pd.MultiIndex.from_frame(full[[SERIES, DATE]]).isin(keys)
        full.loc[added & known_bad, IMPUTED] = True
    full.loc[added, OPEN] = 0.0 if has_open_column else 1.0
    for column in OPTIONAL:
        if column not in (OPEN, PRICE):
            full.loc[added, column] = DEFAULTS[column]
    full[IMPUTED] = full[IMPUTED].astype(bool)
    extra = covariate_columns(full)
    if extra:  # a filled day has the covariates of the days around it (static ones are simply constant)
        grouped = full.groupby(SERIES, sort=False)[extra]
        full[extra] = grouped.ffill().fillna(grouped.bfill())
    return full, int(added.sum())


def prepare_history(frame: pd.DataFrame, has_open_column: bool | None = None,
                    unknown: pd.DataFrame | None = None) -> tuple[pd.DataFrame, int]:
    """Canonical history from a typed frame with at least series_id, date, sales; returns (history, filled).

    Optional columns that are absent get their default; ``imputed`` is kept if given, else False. Duplicate
    (series_id, date) rows must have been resolved by the caller (the loader rejects them).
    """
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"history is missing column(s) {missing}; found {list(frame.columns)}")
    if has_open_column is None:
        has_open_column = OPEN in frame.columns
    out = pd.DataFrame(
        {
            SERIES: frame[SERIES].astype(str).to_numpy(),
            DATE: pd.to_datetime(frame[DATE]).dt.normalize().to_numpy(),
            SALES: pd.to_numeric(frame[SALES]).astype("float64").to_numpy(),
        }
    )
    for column in OPTIONAL:
        values = frame[column] if column in frame.columns else DEFAULTS[column]
        out[column] = pd.to_numeric(pd.Series(values, index=frame.index), errors="coerce").to_numpy("float64")
        if column != PRICE:
            out[column] = out[column].fillna(DEFAULTS[column])
    out[IMPUTED] = frame[IMPUTED].to_numpy(bool) if IMPUTED in frame.columns else False
    extra = covariate_columns(frame)
    for column in extra:
        out[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64").to_numpy()
    if out.duplicated([SERIES, DATE]).any():
        raise ValueError("history has duplicate (series_id, date) rows; resolve them before preparing it")
    filled, added = fill_gaps(out, has_open_column, unknown)
    # A filled day, or a row without a readable price, keeps the last known price of its series: prices
    # change rarely, and a NaN would send the row down a different tree branch than its neighbours.
    filled[PRICE] = filled.groupby(SERIES, sort=False)[PRICE].ffill()
    return filled[[*HISTORY_COLUMNS, *extra]], added


def is_prepared(history: pd.DataFrame) -> bool:
    """Cheap check that a frame already is a canonical, gap-free, sorted history."""
    if list(history.columns[: len(HISTORY_COLUMNS)]) != list(HISTORY_COLUMNS) or history.empty:
        return False
    series = history[SERIES].to_numpy()
    same_series = series[1:] == series[:-1]
    series_sorted = not np.any(~same_series & (series[1:] < series[:-1]))
    step = np.diff(history[DATE].to_numpy()).astype("timedelta64[D]").astype(int)
    return bool(series_sorted and np.all(step[same_series] == 1))


def ensure_history(history: pd.DataFrame) -> pd.DataFrame:
    """The history as given if already canonical, else prepared (defaults added, gaps filled)."""
    return history if is_prepared(history) else prepare_history(history)[0]
