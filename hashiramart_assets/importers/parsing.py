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
    "iso": ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d",
            # with a UTC offset ("+01:00", "+0100", "Z"; shop platforms export these): converted to naive UTC
            "%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"),
    "us": ("%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%Y"),
    "european": ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%y %H:%M", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S",
                 "%d/%m/%Y"),
}


def per_distinct(values: pd.Series, parse: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """``parse`` applied to the distinct values of ``values`` (NA read as ""), mapped back to every row."""
    codes, uniques = pd.factorize(values.fillna(""), sort=False)
    parsed = parse(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
    return pd.Series(parsed.to_numpy()[codes], index=values.index)


# A number written with a decimal comma: "2,55", "-3", "1.234,50" (dots only as thousands separators).
DECIMAL_COMMA_NUMBER = r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)(?:,\d+)?"
DECIMAL_MARKS = (".", ",")


def parse_numbers(values: pd.Series, decimal: str = ".") -> pd.Series:
    """float64 per row; NaN where the text is not a plain finite number.

    The decimal mark is declared per file, never guessed: with the default "." a decimal comma ("2,55")
    or a thousands separator is *not* repaired, since guessing which it is could silently scale a price
    by 100, so such rows become unparseable instead. With ``decimal=","`` (European exports) "2,55" is
    2.55 and "1.234,50" is 1234.5, while "2.55" (a dot that is not a thousands separator) is unparseable.
    """
    if decimal not in DECIMAL_MARKS:
        raise ValueError(f"decimal mark {decimal!r} is not one of {DECIMAL_MARKS}")

    def parse(distinct: pd.Series) -> pd.Series:
        text = distinct.str.strip()
        if decimal == ",":
            valid = text.str.fullmatch(DECIMAL_COMMA_NUMBER).fillna(False).astype(bool)
            text = text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False).where(valid, "")
        number = pd.to_numeric(text, errors="coerce").astype("float64")
        return number.where(np.isfinite(number))

    return per_distinct(values, parse).astype("float64")


@dataclass(frozen=True)
class ParsedDates:
    timestamps: pd.Series  # datetime64[ns], NaT where the chosen family cannot parse the text
    family: str
    primary_format: str
    notes: tuple[str, ...]


def date_families(date_format: str = "auto") -> dict[str, tuple[str, ...]]:
    """The families ``parse_dates`` may choose from: all ("auto"), one by name, or one strftime format
    ("%d.%m.%Y %H:%M", a family of its own); anything else is an error naming the choices."""
    if date_format == "auto":
        return DATE_FAMILIES
    if date_format in DATE_FAMILIES:
        return {date_format: DATE_FAMILIES[date_format]}
    if "%" in date_format:
        return {date_format: (date_format,)}
    raise ValueError(f"date format {date_format!r} is not 'auto', one of {list(DATE_FAMILIES)} or a strftime "
                     "format such as '%d.%m.%Y %H:%M'")


def _to_datetime(text: pd.Series, fmt: str) -> pd.Series:
    if "%z" not in fmt:
        return pd.to_datetime(text, format=fmt, errors="coerce")
    return pd.to_datetime(text, format=fmt, errors="coerce", utc=True).dt.tz_convert(None)


def parse_dates(values: pd.Series, date_format: str = "auto") -> ParsedDates:
    """Parse with the date family that reads most rows; report ambiguity instead of hiding it.

    ``date_format`` narrows the choice (see ``date_families``) when the layout is known."""
    families = date_families(date_format)
    codes, uniques = pd.factorize(values.fillna(""), sort=False)
    distinct = pd.Series(np.asarray(uniques, dtype=object), dtype=object).str.strip()
    weight = np.bincount(codes, minlength=len(distinct))
    parsed: dict[str, pd.Series] = {}
    for family, formats in families.items():
        result = pd.Series(pd.NaT, index=distinct.index, dtype="datetime64[ns]")
        for fmt in formats:
            todo = result.isna()
            if not todo.any():
                break
            result[todo] = _to_datetime(distinct[todo], fmt)
        parsed[family] = result
    rows = {family: int(weight[result.notna().to_numpy()].sum()) for family, result in parsed.items()}
    best = max(families, key=lambda family: rows[family])  # max keeps the first on ties
    notes = tuple(
        f"dates also read as '{other}' on as many rows ({rows[best]}); chose '{best}'"
        for other in families
        if other != best and rows[best] > 0 and rows[other] == rows[best]
    )
    timestamps = pd.Series(parsed[best].to_numpy()[codes], index=values.index)
    return ParsedDates(timestamps, best, families[best][0], notes)
