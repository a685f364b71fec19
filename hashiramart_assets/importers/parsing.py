"""Turning text cells into numbers and timestamps, fast and without guessing row by row.

Columns of an export repeat a few values a million times (~25k distinct invoice dates, a few hundred
prices), so each parser works on the distinct values and maps the result back: parsing 1M dates
costs what parsing 25k does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Date layouts grouped by field order. One family is chosen per file (the one that parses most rows);
# its variants (with/without seconds, 2-digit years) may fill in for each other, but a row is never
# read in another family's order: in a US file "1/2/2011" is January 2nd, even on a row the US formats
# cannot parse. Ties go to the earlier family (ISO, then US as in the UCI files, then European).
DATE_FAMILIES: dict[str, tuple[str, ...]] = {
    "iso": ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d"),
    "us": ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%Y"),
    "european": ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%y %H:%M", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S",
                 "%d/%m/%Y"),
}


def per_distinct(values: pd.Series, parse: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``parse`` applied to the distinct values of ``values`` (NA read as ""), mapped back to every row."""
    codes, uniques = pd.factorize(values.fillna(""), sort=False)
    parsed = parse(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
    return pd.Series(parsed.to_numpy()[codes], index=values.index)


def parse_numbers(values: pd.Series) -> pd.Series:
    """float64 per row; NaN where the text is not a plain finite number.

    A decimal comma ("2,55") or thousands separator is *not* repaired: guessing which it is could
    silently scale a price by 100, so such rows become unparseable instead.
    """
    def parse(distinct: pd.Series) -> pd.Series:
        number = pd.to_numeric(distinct.str.strip(), errors="coerce").astype("float64")
        return number.where(np.isfinite(number))

    return per_distinct(values, parse).astype("float64")


@dataclass(frozen=True)
class ParsedDates:
    timestamps: pd.Series  # datetime64[ns], NaT where the chosen family cannot parse the text
    family: str
    primary_format: str
    notes: tuple[str, ...]


def parse_dates(values: pd.Series) -> ParsedDates:
    """Parse with the date family that reads most rows; report ambiguity instead of hiding it."""
    codes, uniques = pd.factorize(values.fillna(""), sort=False)
    distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object).str.strip()
    weight = np.bincount(codes, minlength=len(distinct))
    parsed: dict[str, pd.Series] = {}
    for family, formats in DATE_FAMILIES.items():
        result = pd.Series(pd.NaT, index=distinct.index, dtype="datetime64[ns]")
        for fmt in formats:
            todo = result.isna()
            if not todo.any():
                break
            result[todo] = pd.to_datetime(distinct[todo], format=fmt, errors="coerce")
        parsed[family] = result
    rows = {family: int(weight[result.notna().to_numpy()].sum()) for family, result in parsed.items()}
    best = max(DATE_FAMILIES, key=lambda family: rows[family])  # max keeps the first on ties
    notes = tuple(
        f"dates also read as '{other}' on as many rows ({rows[best]}); chose '{best}'"
        for other in DATE_FAMILIES
        if other != best and rows[best] > 0 and rows[other] == rows[best]
    )
    timestamps = pd.Series(parsed[best].to_numpy()[codes], index=values.index)
    return ParsedDates(timestamps, best, DATE_FAMILIES[best][0], notes)
