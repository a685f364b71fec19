"""What every importer does the same way once it knows which rows it accepts and why it rejects the others.

- Reasons: each rejected row gets exactly one reason, the first rule of the importer's ordered REASONS
  that applies (``first_reasons``), and lands in ``_quarantine/<file>`` with its original text as JSON
  and where it came from (``quarantine_frame``): ``source_file`` is the path (``path#sheet`` for a
  workbook's sheet), ``source_row`` the 1-based data row in that file or sheet (header excluded),
  ``field`` the file's column that made it fail and ``detail`` its value (``Quantity='three'``), or for
  a copy (no field) which row it copies (``copy of row 12``). The report lists a few such examples per
  reason ("FILE row N, field F: reason (detail)").
- Workbooks with one sheet per period (UCI's Online Retail II: "Year 2009-2010", "Year 2010-2011")
  repeat the days where the periods meet. A row of a later sheet whose text (every column) is also in
  an earlier sheet is a copy made by the export, not a sale: ``duplicate_across_sheets`` marks it (the
  k-th copy of a text in a sheet is marked while some earlier sheet holds at least k copies), the
  importers try that rule first, and the report says how many rows and which days overlapped.
- Reconciliation: accepted + quarantined == input rows and the reasons add up, checked before anything
  lands (``assert_reconciles``).
- Landing (``land_sales``: the accepted rows become the landing tables as retail_tables.py derives them,
  the rejected ones the quarantine; then ``land``): refuses a landing zone that already holds landed
  data unless replace=True (``check_landing``, called before reading); writes everything to a staging
  folder, records the trading
  calendar of the span first..last accepted day there (``trading_calendar.record_landed_span``: explicit
  empty partitions for the days without accepted lines), then swaps it in with renames, so a failing
  import leaves the landing zone untouched; then the manifest and the report (``_reports/<file>``),
  which carries the calendar as ``calendar``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hashiramart_assets import landing
from hashiramart_assets.importers import retail_tables
from hashiramart_assets.importers.csv_reading import TextTable
from hashiramart_assets.trading_calendar import record_landed_span

DUPLICATE_ACROSS_SHEETS = "duplicate_across_sheets"
JSON_SLICE_ROWS = 50_000
EXAMPLES_PER_REASON = 3


@dataclass(frozen=True)
class Target:
    """Where one importer lands: its manifest ``source`` and the files it owns besides the landing tables."""

    source: str
    quarantine_file: str  # under _quarantine/
    report_file: str  # under _reports/
    extra_files: tuple[str, ...] = ()  # more files it writes and replaces, relative to the landing zone

    def owned_files(self) -> tuple[str, ...]:
        return (f"_quarantine/{self.quarantine_file}", f"_reports/{self.report_file}", *self.extra_files)


@dataclass
class ImportReport:
    source_file: str
    input_rows: int
    accepted_rows: int
    quarantined_rows: int
    quarantine_by_reason: dict[str, int]  # every reason of the importer's REASONS, in that order, zeros included
    days: int  # days with accepted lines
    start_date: str | None
    end_date: str | None
    customers: int
    products: int
    orders: int
    encoding: str = ""  # the text encoding the file decoded with ("xlsx" for workbooks)
    date_format: str = ""  # the date family chosen (parsing.DATE_FAMILIES) or the format given
    notes: list[str] = field(default_factory=list)
    delimiter: str = ""  # CSV only
    compression: str = ""  # CSV only: gzip, bz2, xz
    sheets: dict[str, int] = field(default_factory=dict)  # workbook: data rows per sheet, in order
    sheet_overlap: dict[str, object] = field(default_factory=dict)  # workbook: duplicate_rows, days
    calendar: dict[str, object] | None = None  # trading_calendar.SpanReport of the landed span
    details: dict[str, object] = field(default_factory=dict)  # importer-specific (mapping, customer ids ...)
    examples: list[str] = field(default_factory=list)  # "FILE row N, field F: reason (detail)", a few per reason

    def to_dict(self) -> dict:
        return asdict(self)


def _silent(_message: str) -> None:
    return None


def first_reasons(rules: Mapping[str, pd.Series | np.ndarray], order: tuple[str, ...], index: pd.Index) -> pd.Series:
    """One reason per row (the first rule of ``order`` that holds; NA where a rule is NA counts as not
    holding), NA for accepted rows."""
    reason = np.full(len(index), None, dtype=object)
    unset = np.ones(len(index), dtype=bool)
    for name in order:
        rule = rules[name]
        hit = unset & np.asarray(rule.fillna(False) if isinstance(rule, pd.Series) else rule, dtype=bool)
        reason[hit] = name
        unset &= ~hit
    return pd.Series(reason, index=index, dtype="string")


def row_keys(frame: pd.DataFrame) -> np.ndarray:
    """An int64 per row, equal exactly when the rows' text is equal in every column."""
    key = np.zeros(len(frame), dtype=np.int64)
    for column in frame.columns:
        codes, uniques = pd.factorize(frame[column].fillna(""), sort=False)
        key, _ = pd.factorize(key * (len(uniques) + 1) + codes, sort=False)
    return np.asarray(key, dtype=np.int64)


def duplicate_across_sheets(table: TextTable) -> np.ndarray:
    """Per row: a copy of a row of an earlier sheet (see the module doc); all False for a CSV."""
    copies = np.zeros(len(table.frame), dtype=bool)
    if len(table.sheets) < 2:
        return copies
    keys, sheet = row_keys(table.frame), table.sheet_codes()
    earlier_max = pd.Series(dtype="int64")  # row text -> most copies held by any one earlier sheet
    for number in range(len(table.sheets)):
        rows = np.flatnonzero(sheet == number)
        here = pd.Series(keys[rows])
        if len(earlier_max):
            occurrence = here.groupby(here).cumcount().to_numpy()
            copies[rows] = occurrence < earlier_max.reindex(here).fillna(0).to_numpy()
        earlier_max = pd.concat([earlier_max, here.value_counts()]).groupby(level=0).max()
    return copies


def overlap_days(table: TextTable, timestamps: pd.Series) -> list[str]:
    """ISO days that rows of more than one sheet fall on (by the parsed timestamp); [] for a CSV."""
    if len(table.sheets) < 2:
        return []
    frame = pd.DataFrame({"sheet": table.sheet_codes(), "day": timestamps.dt.strftime("%Y-%m-%d").to_numpy()})
    sheets_per_day = frame.dropna().drop_duplicates().groupby("day")["sheet"].size()
    return sorted(sheets_per_day.index[sheets_per_day > 1])


def sheet_summary(table: TextTable, reason: pd.Series, timestamps: pd.Series) -> tuple[dict[str, int], dict]:
    """The report's ``sheets`` and ``sheet_overlap``."""
    if not table.sheets:
        return {}, {}
    overlap = {"duplicate_rows": int((reason == DUPLICATE_ACROSS_SHEETS).sum()),
               "days": overlap_days(table, timestamps)}
    return dict(table.sheets), overlap


def rejection_fields(reason: pd.Series, fields: Mapping[str, str | pd.Series]) -> pd.Series:
    """Per row, the file's column that made it fail: ``fields`` maps a reason to its column, or to a
    per-row Series of columns (NA where the row fails as a whole); NA for accepted rows and whole-row reasons."""
    out = np.full(len(reason), None, dtype=object)
    for name, column in fields.items():
        hit = (reason == name).fillna(False).to_numpy(dtype=bool)
        out[hit] = column.to_numpy(dtype=object)[hit] if isinstance(column, pd.Series) else column
    return pd.Series(out, index=reason.index, dtype="string")


def rejection_details(table: TextTable, reason: pd.Series, fields: pd.Series) -> pd.Series:
    """Per rejected row: ``Column='value'`` where a field failed; else (a copy) ``copy of row N`` (``of
    sheet 'S'`` when that row is in another sheet). NA for accepted rows."""
    out = np.full(len(reason), None, dtype=object)
    rejected = reason.notna().to_numpy()
    named = rejected & fields.notna().to_numpy()
    for column in fields[named].unique():
        rows = named & (fields == column).fillna(False).to_numpy(dtype=bool)
        codes, values = pd.factorize(table.frame.loc[rows, column].fillna(""), sort=False)  # ~1 text per value
        out[rows] = np.array([f"{column}={value!r}" for value in values], dtype=object)[codes]
    copies = np.flatnonzero(rejected & ~named)
    if len(copies):
        first = pd.Series(np.arange(len(table.frame))).groupby(row_keys(table.frame)).transform("min").to_numpy()
        source_rows, sheet, names = table.source_rows(), table.sheet_codes(), [name for name, _ in table.sheets]
        out[copies] = [f"copy of row {source_rows[first[i]]}"
                       + (f" of sheet {names[sheet[first[i]]]!r}" if sheet[first[i]] != sheet[i] else "")
                       for i in copies]
    return pd.Series(out, index=reason.index, dtype="string")


def examples(quarantine: pd.DataFrame, per_reason: int = EXAMPLES_PER_REASON) -> list[str]:
    """A few "FILE row N, field F: reason (detail)" lines per reason, in file order."""
    out = []
    for row in quarantine.groupby("reason", sort=False).head(per_reason).itertuples():
        where = f", field {row.field}" if "field" in quarantine and pd.notna(row.field) else ""
        detail = f" ({row.detail})" if "detail" in quarantine and pd.notna(row.detail) else ""
        out.append(f"{row.source_file} row {row.source_row}{where}: {row.reason}{detail}")
    return out


def quarantine_frame(path: Path, table: TextTable, reason: pd.Series,
                     fields: Mapping[str, str | pd.Series] | None = None) -> pd.DataFrame:
    """Rejected rows with their original text as JSON (header as in the file -> cell text, blank cells
    and the missing cells of a short row as ""). Serialised in slices so a mostly rejected file stays cheap.
    With ``fields`` (see ``rejection_fields``) also the failing ``field`` and its ``detail``."""
    rejected = reason.notna().to_numpy()
    kept = table.frame.loc[rejected]
    rows: list[str] = []
    for start in range(0, len(kept), JSON_SLICE_ROWS):
        text = kept.iloc[start:start + JSON_SLICE_ROWS].to_json(orient="records", lines=True, force_ascii=False)
        # pandas escapes every "/" as backslash-slash; dropping that backslash keeps dates readable and
        # is safe, as the only backslash right before a "/" is that escape (a literal one is doubled).
        text = text.replace("\\/", "/")
        rows += text.rstrip("\n").split("\n")  # JSON escapes newlines inside values: one line per row
    if len(rows) != len(kept):
        raise AssertionError("one JSON line per rejected row")
    out = pd.DataFrame({
        "source_file": table.source_names(path)[rejected],
        "source_row": table.source_rows()[rejected],
        "reason": reason[rejected].to_numpy(),
        "raw": rows,
    }).astype(landing.QUARANTINE_COLUMNS)
    if fields is not None:
        field_of = rejection_fields(reason, fields)
        out["field"] = pd.Series(field_of.to_numpy()[rejected], dtype="string")
        out["detail"] = pd.Series(rejection_details(table, reason, field_of).to_numpy()[rejected], dtype="string")
    return out


def assert_reconciles(report: ImportReport) -> None:
    """accepted + quarantined == input, and the reasons add up; raised explicitly so -O cannot skip it."""
    if report.accepted_rows + report.quarantined_rows != report.input_rows:
        raise AssertionError(f"rows do not reconcile: {report}")
    if sum(report.quarantine_by_reason.values()) != report.quarantined_rows:
        raise AssertionError(f"quarantine reasons do not add up: {report}")


def summarise(path: Path, table: TextTable, reason: pd.Series, reasons: tuple[str, ...], lines: pd.DataFrame,
              customers: pd.DataFrame, products: pd.DataFrame, quarantine: pd.DataFrame, **extra) -> ImportReport:
    """The report of an import (before landing: ``calendar`` is filled in by ``land``), reconciled."""
    days = sorted(str(day) for day in lines["day"].unique())
    counts = reason.value_counts()
    unknown = sorted(set(counts.index) - set(reasons))
    if unknown:
        raise AssertionError(f"reasons {unknown} are not in {reasons}")
    report = ImportReport(
        source_file=str(path),
        input_rows=len(table.frame),
        accepted_rows=len(lines),
        quarantined_rows=len(quarantine),
        quarantine_by_reason={r: int(counts.get(r, 0)) for r in reasons},
        days=len(days),
        start_date=days[0] if days else None,
        end_date=days[-1] if days else None,
        customers=len(customers),
        products=len(products),
        orders=int(lines["order_id"].nunique()),
        encoding=table.encoding,
        delimiter=table.delimiter,
        compression=table.compression,
        **extra,
    )
    assert_reconciles(report)
    return report


def _existing_landing(landing_dir: Path) -> list[str]:
    found = [f"{table}/date={day}" for table in landing.DAILY_TABLES for day in landing.landed_days(landing_dir, table)]
    found += [f"{t}.parquet" for t in ("customers", "products") if landing.table_path(landing_dir, t).exists()]
    return found


def check_landing(landing_dir: Path, replace: bool) -> None:
    existing = _existing_landing(landing_dir)
    if existing and not replace:
        raise ValueError(
            f"{landing_dir} already holds landed data ({len(existing)} table/day files, e.g. {existing[0]}); "
            "import with --replace (replace=True) to replace it, or point HASHIRAMART_LANDING_DIR at an empty place"
        )


def _clear_landing(landing_dir: Path, target: Target) -> None:
    """Remove what an import replaces; other sources' quarantine files and reports are left alone."""
    for name in landing.DAILY_TABLES:
        shutil.rmtree(landing_dir / name, ignore_errors=True)
    for name in ("customers.parquet", "products.parquet", "_manifest.json", *target.owned_files()):
        (landing_dir / name).unlink(missing_ok=True)


def _write_stage(stage: Path, target: Target, lines: pd.DataFrame, quarantine: pd.DataFrame,
                 customers: pd.DataFrame, products: pd.DataFrame, extra: Mapping[str, pd.DataFrame]) -> None:
    for day, rows in sorted(lines.groupby("day", sort=False, observed=True).indices.items()):
        part = lines.iloc[rows]
        landing.write_day(stage, "orders", day, part)
        landing.write_day(stage, "events", day, retail_tables.purchase_events(part))
    landing.write_table(stage, "customers", customers)
    landing.write_table(stage, "products", products)
    for name, frame in {f"_quarantine/{target.quarantine_file}": quarantine, **extra}.items():
        (stage / name).parent.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(stage / name, index=False)


def _publish(stage: Path, landing_dir: Path, target: Target) -> None:
    """Swap the staged tables in: renames within one file system, so the gap is milliseconds."""
    _clear_landing(landing_dir, target)
    for item in ("orders", "events", "customers.parquet", "products.parquet", "_manifest.json", *target.owned_files()):
        source = stage / item
        if source.exists():
            (landing_dir / item).parent.mkdir(parents=True, exist_ok=True)
            source.rename(landing_dir / item)


def describe_calendar(calendar: Mapping[str, Any]) -> str:
    closed = f"closed on {', '.join(calendar['closed_weekdays'])}s; " if calendar["closed_weekdays"] else ""
    return (f"calendar {calendar['start_date']}..{calendar['end_date']}: {calendar['trading_days']} trading, "
            f"{calendar['closed_days']} closed days ({closed}{len(calendar['closed_periods'])} other closed "
            f"period(s), {len(calendar['short_dates'])} short day(s))")


def land_sales(target: Target, path: Path, landing_dir: Path, table: TextTable, reason: pd.Series,
               reasons: tuple[str, ...], sales: pd.DataFrame, timestamps: pd.Series, date_format: str,
               notes: Iterable[str] = (), details: Mapping[str, object] | None = None,
               extra: Mapping[str, pd.DataFrame] | None = None, progress: Callable[[str], None] | None = None,
               fields: Mapping[str, str | pd.Series] | None = None) -> ImportReport:
    """The end every importer shares: the accepted ``sales`` (retail_tables.order_lines' input) become the
    landing tables, the rejected rows (``reason`` not NA) the quarantine, with the failing field per
    reason from ``fields`` (``rejection_fields``); then summarise and ``land``."""
    say = progress or _silent
    lines = retail_tables.order_lines(sales)
    customers, products = retail_tables.customers(lines), retail_tables.products(lines)
    quarantine = quarantine_frame(path, table, reason, fields or {})
    sheets, overlap = sheet_summary(table, reason, timestamps)
    report = summarise(path, table, reason, reasons, lines, customers, products, quarantine,
                       date_format=date_format, notes=list(notes), sheets=sheets, sheet_overlap=overlap,
                       details=dict(details or {}), examples=examples(quarantine))
    if overlap:
        say(f"{overlap['duplicate_rows']:,} rows repeat an earlier sheet; days in more than one sheet: "
            f"{', '.join(overlap['days']) or 'none'}")
    return land(target, path, landing_dir, report, lines, quarantine, customers, products, extra, progress=say)


def land(target: Target, path: Path, landing_dir: Path, report: ImportReport, lines: pd.DataFrame,
         quarantine: pd.DataFrame, customers: pd.DataFrame, products: pd.DataFrame,
         extra: Mapping[str, pd.DataFrame] | None = None, progress: Callable[[str], None] | None = None,
         ) -> ImportReport:
    """Stage, record the calendar, publish, write the manifest and the report (see the module doc).

    ``extra`` maps more files of ``target.extra_files`` to the frames to write there as parquet."""
    say = progress or _silent
    stage = landing_dir / f".staging-{target.source}"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        _write_stage(stage, target, lines, quarantine, customers, products, extra or {})
        if report.start_date and report.end_date:
            rows_by_day = {str(day): int(n) for day, n in lines["day"].value_counts().items() if n}
            report.calendar = asdict(record_landed_span(stage, rows_by_day, report.start_date, report.end_date))
        _publish(stage, landing_dir, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    say(f"landed {len(lines):,} order lines over {report.days} days into {landing_dir}")
    if report.calendar:
        say(describe_calendar(report.calendar))
    dates = {"start_date": report.start_date, "end_date": report.end_date} if report.start_date else {}
    landing.write_manifest(
        landing_dir, source=target.source, source_file=str(path), input_rows=report.input_rows,
        accepted_rows=report.accepted_rows, quarantined_rows=report.quarantined_rows, **dates,
    )
    report_path = landing_dir / "_reports" / target.report_file
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report.to_dict(), indent=2, default=str))
    return report
