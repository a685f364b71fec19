"""Reading a real sales export (CSV or Parquet) into the canonical history, with every bad row accounted for.

Why so defensive: store exports come with BOMs, latin-1 text, semicolons, mixed date formats, numbers as
text, duplicates and holes. A row we cannot trust is not dropped silently: it goes to ``rejected`` with
its 1-based data row number (header not counted) and a reason, so accepted + rejected = input rows.
Values of optional columns that cannot be read do not reject the row; they fall back to the column's
default and are counted in ``coerced``.
"""

from __future__ import annotations

import csv
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hashiramart_assets.ml.forecast.columns import (
    ALIASES,
    DATE,
    DEFAULTS,
    HOLIDAY,
    OPEN,
    OPTIONAL,
    PRICE,
    PROMO,
    REQUIRED,
    SALES,
    SERIES,
)
from hashiramart_assets.ml.forecast.history import prepare_history
from hashiramart_assets.ml.forecast.parsing import clean_strings, parse_dates, parse_flags, parse_numbers

SOURCE_ROW, REASON = "source_row", "reason"
REASONS = (
    "missing_series_id", "missing_date", "bad_date", "missing_sales", "non_numeric_sales", "negative_sales",
    "sales_on_closed_day", "duplicate_series_date",
)
UNKNOWN_SALES_REASONS = ("missing_sales", "non_numeric_sales", "negative_sales", "sales_on_closed_day")


@dataclass(frozen=True)
class LoadReport:
    """What happened to the file's rows: the numbers a data owner asks for first."""

    source: str
    encoding: str
    input_rows: int
    accepted_rows: int
    rejected_rows: int
    rejected_by_reason: dict[str, int]
    coerced: dict[str, int]
    gap_rows_filled: int
    n_series: int
    date_min: str | None
    date_max: str | None
    shortest_series_days: int
    longest_series_days: int
    ignored_columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LoadedHistory:
    """The canonical history (gap-filled), the rejected rows with reasons, and the report."""

    history: pd.DataFrame
    rejected: pd.DataFrame
    report: LoadReport


def _normalise_header(name: object) -> str:
    return str(name).replace("\ufeff", "").strip().lower().replace(" ", "_").replace("-", "_")


def _sniff_separator(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t", "|")}
    return max(counts, key=lambda sep: counts[sep])


def read_raw(path: Path) -> tuple[pd.DataFrame, str]:
    """The file's cells as given (CSV: all text) and the encoding used."""
    suffixes = "".join(path.suffixes).lower()
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path), "parquet"
    if ".csv" not in suffixes and ".txt" not in suffixes and ".tsv" not in suffixes:
        raise ValueError(f"{path}: unsupported file type {path.suffix!r}; expected .csv or .parquet")
    for encoding in ("utf-8-sig", "latin-1"):  # latin-1 decodes any byte string, so it is the last resort
        try:
            with path.open(encoding=encoding, newline="") as handle:
                first = handle.readline()
            sep = _sniff_separator(first)
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding, sep=sep,
                                quoting=csv.QUOTE_MINIMAL, compression="infer")
            return frame, encoding
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError as err:
            raise ValueError(f"{path}: the file is empty") from err
    raise AssertionError("unreachable: latin-1 decodes every byte")


def map_columns(raw: pd.DataFrame, source: Path) -> tuple[dict[str, str], list[str]]:
    """canonical name -> raw column name, plus the raw columns we ignore; ValueError if a required one lacks."""
    by_normal = {}
    for column in raw.columns:
        by_normal.setdefault(_normalise_header(column), column)
    mapping: dict[str, str] = {}
    for canonical in (*REQUIRED, *OPTIONAL):
        for candidate in (canonical, *ALIASES.get(canonical, ())):
            if candidate in by_normal and by_normal[candidate] not in mapping.values():
                mapping[canonical] = by_normal[candidate]
                break
    missing = [c for c in REQUIRED if c not in mapping]
    if missing:
        raise ValueError(
            f"{source}: missing required column(s) {missing}; found columns {[str(c) for c in raw.columns]} "
            f"(need {list(REQUIRED)}, optional {list(OPTIONAL)})"
        )
    ignored = [str(c) for c in raw.columns if c not in mapping.values()]
    return mapping, ignored


def _first_reason(conditions: list[tuple[str, np.ndarray]], n: int) -> np.ndarray:
    """Per row, the first failing check's reason (or "" for a good row)."""
    reason = np.full(n, "", dtype=object)
    for name, failed in conditions:
        reason[(reason == "") & failed] = name
    return reason


@dataclass(frozen=True)
class Validated:
    """Typed accepted rows; rejected raw rows (source_row, reason first); coerced-value counts; and the
    (series_id, date) keys of rejected rows whose day is known but whose sales are not (kept as imputed)."""

    accepted: pd.DataFrame
    rejected: pd.DataFrame
    coerced: dict[str, int]
    unknown_days: pd.DataFrame


def validate(raw: pd.DataFrame, mapping: dict[str, str]) -> Validated:
    """Check every row; the first failing check names its reason."""
    n = len(raw)
    series_text = clean_strings(raw[mapping[SERIES]])
    series_missing = series_text.isna().to_numpy()
    date_cells = raw[mapping[DATE]]
    dates = parse_dates(date_cells)
    if pd.api.types.is_datetime64_any_dtype(date_cells):
        date_missing = date_cells.isna().to_numpy()
    else:
        date_missing = clean_strings(date_cells).isna().to_numpy()
    sales, sales_missing = parse_numbers(raw[mapping[SALES]])
    sales_bad = ~np.isfinite(sales.to_numpy())
    typed = pd.DataFrame({SERIES: series_text.to_numpy(object), DATE: dates.to_numpy(), SALES: sales.to_numpy()})

    coerced: dict[str, int] = {}
    for column in (PROMO, OPEN, HOLIDAY):
        if column in mapping:
            flags = parse_flags(raw[mapping[column]], nonzero_is_true=column == HOLIDAY)
            coerced[f"{column}_unreadable"] = int(flags.isna().sum())
            typed[column] = flags.fillna(DEFAULTS[column]).to_numpy()
    if PRICE in mapping:
        price, _ = parse_numbers(raw[mapping[PRICE]])
        price = price.where(price > 0)
        coerced[f"{PRICE}_unreadable"] = int(price.isna().sum())
        typed[PRICE] = price.to_numpy()

    closed_with_sales = (typed[OPEN].to_numpy() == 0) & (sales.to_numpy() > 0) if OPEN in typed else np.zeros(n, bool)
    reason = _first_reason(
        [
            ("missing_series_id", series_missing),
            ("missing_date", date_missing),
            ("bad_date", dates.isna().to_numpy()),
            ("missing_sales", sales_missing),
            ("non_numeric_sales", sales_bad),
            ("negative_sales", sales.to_numpy() < 0),
            ("sales_on_closed_day", closed_with_sales),
        ],
        n,
    )
    # Of several rows for one series-day only the first is kept: we cannot tell which one is right.
    ok_so_far = reason == ""
    duplicate = np.zeros(n, dtype=bool)
    duplicate[ok_so_far] = typed.loc[ok_so_far].duplicated([SERIES, DATE], keep="first").to_numpy()
    reason[duplicate] = "duplicate_series_date"

    accepted_mask = reason == ""
    rejected = raw.loc[~accepted_mask].copy()
    rejected.insert(0, REASON, reason[~accepted_mask])
    rejected.insert(0, SOURCE_ROW, np.flatnonzero(~accepted_mask) + 1)
    unknown = np.isin(reason, list(UNKNOWN_SALES_REASONS))
    return Validated(
        accepted=typed.loc[accepted_mask].reset_index(drop=True),
        rejected=rejected.reset_index(drop=True),
        coerced=coerced,
        unknown_days=typed.loc[unknown, [SERIES, DATE]].drop_duplicates().reset_index(drop=True),
    )


def load_sales_history(path: str | Path) -> LoadedHistory:
    """Load a long-format sales file (.csv / .csv.gz / .parquet) into a canonical, gap-filled history.

    Raises ValueError naming the file when required columns are missing or no row survives validation.
    """
    source = Path(path)
    if not source.exists():
        raise ValueError(f"{source}: no such file")
    raw, encoding = read_raw(source)
    mapping, ignored = map_columns(raw, source)
    checked = validate(raw, mapping)
    typed, rejected = checked.accepted, checked.rejected
    by_reason = {r: int(c) for r, c in rejected[REASON].value_counts().items()} if len(rejected) else {}
    if typed.empty:
        raise ValueError(f"{source}: none of the {len(raw)} rows is usable; rejected by reason: {by_reason}")
    history, filled = prepare_history(typed, has_open_column=OPEN in mapping, unknown=checked.unknown_days)
    lengths = history.groupby(SERIES, sort=False)[DATE].size()
    report = LoadReport(
        source=str(source),
        encoding=encoding,
        input_rows=len(raw),
        accepted_rows=len(typed),
        rejected_rows=len(rejected),
        rejected_by_reason=by_reason,
        coerced=checked.coerced,
        gap_rows_filled=filled,
        n_series=int(lengths.size),
        date_min=str(history[DATE].min().date()),
        date_max=str(history[DATE].max().date()),
        shortest_series_days=int(lengths.min()),
        longest_series_days=int(lengths.max()),
        ignored_columns=ignored,
    )
    return LoadedHistory(history=history, rejected=rejected, report=report)
