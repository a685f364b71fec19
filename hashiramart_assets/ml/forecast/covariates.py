"""Every further column of a sales file (and of a per-series attributes file) becomes a model covariate.

Why automatic: a store export carries what explains its sales (school holidays, store type, assortment,
competition distance) under names we cannot list in advance. A column is
  - numeric when nearly all its filled cells read as numbers, else categorical (its distinct values,
    sorted, become codes 0..k-1; a value unseen in training gets no code, NaN, LightGBM's missing branch);
  - known ahead (the row's own value is a feature: a promotion plan, a school holiday calendar) unless its
    name says it is an outcome of the day (customers, transactions, ...): such a column is only known
    after the fact, so only its mean over the 28 days ending H days back is a feature (no leak).
Static per series or varying by day makes no difference to the model: future rows take the value the
caller gives for that day, else the series' last known value.
Columns that repeat the date (DayOfWeek), are constant or are near-unique identifiers are left out and
reported with the reason.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from hashiramart_assets.ml.forecast.parsing import clean_strings, parse_numbers

PREFIX = "x_"
NUMERIC, CATEGORICAL = "numeric", "categorical"
# Outcomes of the day itself: unknown for a future day, so only their past enters the model.
OUTCOME_NAMES = frozenset({
    "customers", "transactions", "visitors", "footfall", "traffic", "orders", "n_orders", "baskets",
    "revenue", "turnover", "returns", "units_returned", "receipts", "tickets",
})
# Facts the model already derives from the date.
DATE_PART_NAMES = frozenset({"dayofweek", "day_of_week", "weekday", "dow", "week_day", "year", "month", "day"})
MIN_NUMERIC_SHARE = 0.98
MAX_CATEGORIES = 500


@dataclass(frozen=True)
class Covariate:
    """One extra column: its history column (``x_<name>``), source header, kind, and whether it is known ahead."""

    name: str
    source: str
    kind: str
    known_ahead: bool
    categories: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        out = asdict(self)
        out["categories"] = list(self.categories)
        return out

    @classmethod
    def from_dict(cls, values: dict) -> Covariate:
        return cls(name=values["name"], source=values["source"], kind=values["kind"],
                   known_ahead=bool(values["known_ahead"]), categories=tuple(values.get("categories", ())))


def column_name(header: str) -> str:
    """History column of a source header: ``x_`` + lower case, runs of non-alphanumerics as "_"."""
    text = "".join(ch if ch.isalnum() else "_" for ch in str(header).replace("\ufeff", "").strip().lower())
    return PREFIX + "_".join(part for part in text.split("_") if part)


def describe(values: pd.Series, header: str) -> Covariate | str:
    """The covariate a column makes, or the reason it is left out (a string)."""
    name = column_name(header)
    bare = name[len(PREFIX):]
    if bare in DATE_PART_NAMES:
        return "derived from the date"
    numbers, missing = parse_numbers(values)
    filled = ~missing
    if not filled.any():
        return "empty"
    readable = numbers.notna().to_numpy() & filled
    known_ahead = bare not in OUTCOME_NAMES
    if readable.sum() >= MIN_NUMERIC_SHARE * filled.sum():
        if numbers[readable].nunique() <= 1:
            return "constant"
        return Covariate(name, str(header), NUMERIC, known_ahead)
    text = clean_strings(values).dropna().unique()
    if len(text) <= 1:
        return "constant"
    n_filled = int(filled.sum())
    if len(text) > MAX_CATEGORIES or 2 * len(text) > n_filled:
        return f"text with {len(text)} distinct values in {n_filled} filled cells (free text or an identifier)"
    return Covariate(name, str(header), CATEGORICAL, known_ahead, tuple(sorted(str(v) for v in text)))


def encode(values: pd.Series, covariate: Covariate) -> np.ndarray:
    """float64 values of a column: numbers (NaN where unreadable) or category codes (NaN if unseen)."""
    if covariate.kind == NUMERIC:
        return parse_numbers(values)[0].to_numpy("float64")
    codes = {value: float(i) for i, value in enumerate(covariate.categories)}
    text = clean_strings(values)
    return text.map(codes).astype("float64").to_numpy()


def detect(raw: pd.DataFrame, headers: list[str]) -> tuple[list[Covariate], dict[str, str]]:
    """Covariates of ``headers`` in ``raw`` and {header: reason} for the ones left out."""
    found, left_out = [], {}
    seen: set[str] = set()
    for header in headers:
        result = describe(raw[header], header)
        if isinstance(result, str):
            left_out[str(header)] = result
        elif result.name in seen:
            left_out[str(header)] = f"same name as another column ({result.name})"
        else:
            seen.add(result.name)
            found.append(result)
    return found, left_out


def covariate_columns(frame: pd.DataFrame) -> list[str]:
    """The covariate columns a history carries (``x_*``), in their order."""
    return [c for c in frame.columns if str(c).startswith(PREFIX)]
