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
from hashiramart_assets.ml.forecast.covariates import Covariate, detect, encode
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
    covariates: list[dict] = field(default_factory=list)
    ignored_because: dict[str, str] = field(default_factory=dict)
    attributes: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class LoadedHistory:
    """The canonical history (gap-filled, covariates as ``x_*`` columns), the rejected rows with reasons,
    the covariates' descriptions (what the model needs to use them) and the report."""

    history: pd.DataFrame
    rejected: pd.DataFrame
    report: LoadReport
    covariates: tuple[Covariate, ...] = ()


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
    by_normal: dict[str, str] = {}  # columns are read as strings
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


def validate(raw: pd.DataFrame, mapping: dict[str, str], covariates: tuple[Covariate, ...] = ()) -> Validated:
    """Check every row; the first failing check names its reason. Covariates never reject a row."""
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
    for covariate in covariates:
        typed[covariate.name] = encode(raw[covariate.source], covariate)

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


def load_series_attributes(path: str | Path) -> tuple[pd.DataFrame, tuple[Covariate, ...], dict]:
    """A per-series attributes file (Rossmann's store.csv: Store, StoreType, CompetitionDistance, ...).

    Returns (frame of series_id + one ``x_*`` column per attribute, the covariates, a report). The series
    column is found like the sales file's; rows without an id are dropped and a repeated id keeps its first
    row, both counted.
    """
    source = Path(path)
    if not source.exists():
        raise ValueError(f"{source}: no such file")
    raw, _ = read_raw(source)
    by_normal = {_normalise_header(c): c for c in raw.columns}
    key = next((by_normal[n] for n in (SERIES, *ALIASES[SERIES]) if n in by_normal), None)
    if key is None:
        raise ValueError(f"{source}: no series column (one of {[SERIES, *ALIASES[SERIES]]}); "
                         f"found columns {[str(c) for c in raw.columns]}")
    ids = clean_strings(raw[key])
    keep = ids.notna() & ~ids.duplicated(keep="first")
    covariates, left_out = detect(raw.loc[keep], [c for c in raw.columns if c != key])
    frame = pd.DataFrame({SERIES: ids[keep].astype(str).to_numpy()})
    for covariate in covariates:
        frame[covariate.name] = encode(raw.loc[keep, covariate.source], covariate)
    report = {"source": str(source), "rows": len(raw), "series": len(frame),
              "rows_without_series": int(ids.isna().sum()),
              "duplicate_series_rows": int((ids.notna() & ids.duplicated(keep="first")).sum()),
              "left_out_columns": left_out}
    return frame, tuple(covariates), report


def _join_attributes(typed: pd.DataFrame, attributes: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Static attributes on every row of their series; returns (frame, series of the sales without attributes)."""
    joined = typed.merge(attributes, on=SERIES, how="left")
    missing = int(typed.loc[~typed[SERIES].isin(attributes[SERIES]), SERIES].nunique())
    return joined, missing


def load_sales_history(path: str | Path, attributes_path: str | Path | None = None) -> LoadedHistory:
    """Load a long-format sales file (.csv / .csv.gz / .parquet) into a canonical, gap-filled history.

    Columns beyond the canonical ones become covariates (covariates.py); ``attributes_path`` adds the
    columns of a per-series attributes file as static covariates. Raises ValueError naming the file when
    required columns are missing or no row survives validation.
    """
    source = Path(path)
    if not source.exists():
        raise ValueError(f"{source}: no such file")
    raw, encoding = read_raw(source)
    mapping, ignored = map_columns(raw, source)
    covariates, left_out = detect(raw, ignored)
    checked = validate(raw, mapping, tuple(covariates))
    typed, rejected = checked.accepted, checked.rejected
    attributes_report: dict = {}
    if attributes_path is not None:
        attributes, static, attributes_report = load_series_attributes(attributes_path)
        static = tuple(c for c in static if c.name not in {k.name for k in covariates})
        typed, attributes_report["sales_series_without_attributes"] = _join_attributes(
            typed, attributes[[SERIES, *(c.name for c in static)]])
        covariates = [*covariates, *static]
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
        ignored_columns=sorted(left_out),
        ignored_because=left_out,
        covariates=[{**c.to_dict(), "categories": len(c.categories)} for c in covariates],
        attributes=attributes_report,
    )
    return LoadedHistory(history=history, rejected=rejected, report=report, covariates=tuple(covariates))
