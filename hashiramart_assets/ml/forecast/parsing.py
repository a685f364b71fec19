"""Turning messy raw cell values (strings from CSV, or typed Parquet columns) into dates, numbers and flags.

Each parser returns NaN / NaT where a value cannot be read, never raises, so the loader can decide per
row whether that makes the row bad (dates, sales) or just means "unknown" (promo, price).
Values are parsed once per distinct value: real exports repeat dates and flags millions of times.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Tried on whatever ISO 8601 could not read, the format that reads most of the remaining values first.
# Day-first and month-first slash dates are told apart by which reads more values ("31/01" is only
# day-first); when both read all of them (every day <= 12) the month-first US form wins by list order.
FALLBACK_DATE_FORMATS: tuple[str, ...] = (
    "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y", "%d-%m-%Y", "%Y%m%d", "%m/%d/%y", "%d/%m/%y", "%d.%m.%y",
)
TRUE_WORDS = frozenset({"1", "1.0", "true", "t", "yes", "y"})
FALSE_WORDS = frozenset({"0", "0.0", "false", "f", "no", "n"})
MISSING_WORDS = frozenset({"", "nan", "na", "n/a", "null", "none", "-", "?"})


def clean_strings(values: pd.Series) -> pd.Series:
    """Strip whitespace and map the usual spellings of "missing" to NA."""
    text = values.astype("string").str.strip()
    return text.mask(text.str.lower().isin(MISSING_WORDS))


def _by_unique(values: pd.Series, parse) -> pd.Series:
    """Apply ``parse`` (Series -> Series) to the distinct values only, then broadcast back."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    parsed = parse(pd.Series(uniques, dtype=values.dtype)).to_numpy()
    out = np.empty(len(values), dtype=parsed.dtype)
    valid = codes >= 0
    out[valid] = parsed[codes[valid]]
    if not valid.all():
        out[~valid] = np.datetime64("NaT") if parsed.dtype.kind == "M" else np.nan
    return pd.Series(out, index=values.index)


def _parse_date_strings(text: pd.Series) -> pd.Series:
    result = pd.to_datetime(text, format="ISO8601", errors="coerce")
    remaining = result.isna() & text.notna()
    while remaining.any():
        todo = text[remaining]
        attempts = {fmt: pd.to_datetime(todo, format=fmt, errors="coerce") for fmt in FALLBACK_DATE_FORMATS}
        best = max(attempts, key=lambda fmt: int(attempts[fmt].notna().sum()))
        if attempts[best].notna().sum() == 0:
            break
        result.loc[attempts[best].dropna().index] = attempts[best].dropna()
        remaining = result.isna() & text.notna()
    return result


def parse_dates(values: pd.Series) -> pd.Series:
    """Calendar days (datetime64, time of day dropped); NaT where no known format fits."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return pd.to_datetime(values).dt.tz_localize(None).dt.normalize() if values.dt.tz else values.dt.normalize()
    text = clean_strings(values)
    parsed = _by_unique(text, _parse_date_strings)
    parsed = pd.to_datetime(parsed, errors="coerce")
    return parsed.dt.normalize().astype("datetime64[ns]")


def _parse_number_strings(text: pd.Series) -> pd.Series:
    # "12,5" is a decimal comma (European exports); "1,234.5" and "2,000" have a thousands separator
    # (a comma followed by exactly three digits is read as thousands: the usual case in sales exports).
    decimal_comma = text.str.fullmatch(r"-?\d+,(\d{1,2}|\d{4,})", na=False)
    fixed = text.where(~decimal_comma, text.str.replace(",", ".", regex=False))
    fixed = fixed.str.replace(r"(?<=\d),(?=\d{3}(\D|$))", "", regex=True)
    return pd.to_numeric(fixed, errors="coerce").astype("float64")


def parse_numbers(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """(float values, missing mask): NaN where unreadable; ``missing`` tells empty cells from garbage."""
    if pd.api.types.is_bool_dtype(values):
        values = values.astype("float64")
    if pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        return numbers, numbers.isna().to_numpy() & pd.isna(values).to_numpy()
    text = clean_strings(values)
    missing = text.isna()
    numbers = _by_unique(text, _parse_number_strings).astype("float64")
    return numbers, missing.to_numpy()


def _flag_of_string(value: str, nonzero_is_true: bool) -> float:
    word = value.lower()
    if word in TRUE_WORDS:
        return 1.0
    if word in FALSE_WORDS:
        return 0.0
    try:
        return float(float(word) != 0.0)
    except ValueError:
        return 1.0 if nonzero_is_true else float("nan")


def parse_flags(values: pd.Series, nonzero_is_true: bool = False) -> pd.Series:
    """0.0 / 1.0 flags, NaN for missing or unreadable cells.

    ``nonzero_is_true`` is for coded columns such as Rossmann's StateHoliday ('0', 'a', 'b', 'c'), where
    any code other than zero means "yes".
    """
    if pd.api.types.is_bool_dtype(values) or pd.api.types.is_numeric_dtype(values):
        numbers = pd.to_numeric(values, errors="coerce").astype("float64")
        return (numbers != 0).astype("float64").where(numbers.notna())
    text = clean_strings(values)

    def parse(unique: pd.Series) -> pd.Series:
        return unique.map(lambda v: _flag_of_string(str(v), nonzero_is_true), na_action="ignore").astype("float64")

    return _by_unique(text, parse).astype("float64")
