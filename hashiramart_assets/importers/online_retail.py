"""Import a UCI Online Retail (I or II) export into the landing zone, quarantining what is not a sale.

Every input row ends either in the landed order lines or in ``_quarantine/online_retail.parquet``
with exactly one reason (the first rule of REASONS that applies) and its original text, so the
import can assert accepted + quarantined == input rows and report the counts per reason.

Reasons, in the order they are tried:
  unparseable_row        no date in the file's date layout (parsing.py), quantity or price not a plain
                         number, fractional or out-of-range quantity, empty invoice or stock code, or a
                         CustomerID that is present but not a positive whole number
  cancellation           invoice starts with "C" (the negative lines of a cancelled order)
  adjustment             invoice starts with "A" (adjust bad debt) or stock code B / ADJUST / ADJUST2
  missing_customer       blank CustomerID: a sale nobody can be credited with
  non_product_code       postage, fees, vouchers, samples, tests (stock_codes.py)
  non_positive_quantity  quantity <= 0 on a normal invoice (damaged / lost stock write-offs)
  non_positive_price     unit price <= 0 (free samples, stock fixes)
  duplicate_row          the same text as an earlier row, every column (the first copy is kept)
A duplicate of a rejected row is rejected for the same reason as its original, since every other rule
depends on the row's text alone; duplicate_row therefore only counts copies of accepted sales.

The landing zone must not already hold orders/events/customers/products (the generator's or an
earlier import's) unless ``replace=True``: then the earlier landing tables, manifest and this
importer's quarantine and report are removed and the import lands as if into an empty zone, so
importing the same file twice gives the same landing zone. Everything is written to a staging
folder first and moved into place at the end: a failing import leaves the landing zone untouched.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hashiramart_assets import landing
from hashiramart_assets.importers import retail_tables, stock_codes
from hashiramart_assets.importers.csv_reading import map_columns, read_table_as_text
from hashiramart_assets.importers.parsing import parse_dates, parse_numbers

SOURCE = "online-retail"
QUARANTINE_FILE = "online_retail.parquet"
REPORT_FILE = "online_retail_import.json"
# canonical name -> header spellings of Online Retail I and II (matched ignoring case, spaces, "_")
COLUMNS: dict[str, tuple[str, ...]] = {
    "invoice": ("InvoiceNo", "Invoice"),
    "stock_code": ("StockCode",),
    "description": ("Description",),
    "quantity": ("Quantity",),
    "invoice_date": ("InvoiceDate",),
    "price": ("UnitPrice", "Price"),
    "customer": ("CustomerID", "Customer ID"),
    "country": ("Country",),
}
REASONS = ("unparseable_row", "cancellation", "adjustment", "missing_customer", "non_product_code",
           "non_positive_quantity", "non_positive_price", "duplicate_row")
INT32_MAX = np.iinfo(np.int32).max
JSON_SLICE_ROWS = 50_000


@dataclass
class ImportReport:
    source_file: str
    input_rows: int
    accepted_rows: int
    quarantined_rows: int
    quarantine_by_reason: dict[str, int]  # every reason of REASONS, in that order, zeros included
    days: int
    start_date: str | None
    end_date: str | None
    customers: int
    products: int
    orders: int
    encoding: str = ""  # the text encoding the file decoded with ("xlsx" for workbooks)
    date_format: str = ""  # the date family chosen (parsing.DATE_FAMILIES)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def _silent(_message: str) -> None:
    return None


def _assert_reconciles(report: ImportReport) -> None:
    """accepted + quarantined == input, and the reasons add up; raised explicitly so -O cannot skip it."""
    if report.accepted_rows + report.quarantined_rows != report.input_rows:
        raise AssertionError(f"rows do not reconcile: {report}")
    if sum(report.quarantine_by_reason.values()) != report.quarantined_rows:
        raise AssertionError(f"quarantine reasons do not add up: {report}")


def _existing_landing(landing_dir: Path) -> list[str]:
    found = [f"{table}/date={day}" for table in landing.DAILY_TABLES for day in landing.landed_days(landing_dir, table)]
    found += [f"{t}.parquet" for t in ("customers", "products") if landing.table_path(landing_dir, t).exists()]
    return found


def _check_landing(landing_dir: Path, replace: bool) -> None:
    existing = _existing_landing(landing_dir)
    if existing and not replace:
        raise ValueError(
            f"{landing_dir} already holds landed data ({len(existing)} table/day files, e.g. {existing[0]}); "
            "import with --replace (replace=True) to replace it, or point HASHIRAMART_LANDING_DIR at an empty place"
        )


def _clear_landing(landing_dir: Path) -> None:
    """Remove what an import replaces; other sources' quarantine files are left alone."""
    for name in landing.DAILY_TABLES:
        shutil.rmtree(landing_dir / name, ignore_errors=True)
    for name in ("customers.parquet", "products.parquet", "_manifest.json",
                 f"_quarantine/{QUARANTINE_FILE}", f"_reports/{REPORT_FILE}"):
        (landing_dir / name).unlink(missing_ok=True)


def _parse(cols: pd.DataFrame) -> tuple[pd.DataFrame, str, tuple[str, ...]]:
    """Typed columns next to the text ones; NaN/NaT where a cell does not parse."""
    text = cols.fillna("")
    dates = parse_dates(text["invoice_date"])
    customer_text = text["customer"].str.strip()
    country = text["country"].str.strip()
    parsed = pd.DataFrame({
        "invoice": text["invoice"].str.strip().str.upper(),
        "product_id": stock_codes.normalise(text["stock_code"]),
        "description": text["description"].str.strip(),
        "quantity": parse_numbers(text["quantity"]),
        "unit_price": parse_numbers(text["price"]),
        "customer_given": (customer_text != "").to_numpy(dtype=bool),
        "customer_id": parse_numbers(customer_text),
        "ts": dates.timestamps,
        "country": country.mask(country == "", "Unspecified"),
    })
    return parsed, dates.family, dates.notes


def _reasons(p: pd.DataFrame, raw: pd.DataFrame) -> pd.Series:
    """One reason per rejected row (first rule that applies, REASONS order), NA for accepted rows."""
    qty, price, cust = p["quantity"], p["unit_price"], p["customer_id"]
    bad_customer = p["customer_given"] & (cust.isna() | (cust <= 0) | (cust % 1 != 0))
    rules = {
        "unparseable_row": p["ts"].isna() | qty.isna() | price.isna() | (qty % 1 != 0) | (qty.abs() > INT32_MAX)
        | (p["invoice"] == "") | (p["product_id"] == "") | bad_customer,
        "cancellation": p["invoice"].str.startswith("C"),
        "adjustment": p["invoice"].str.startswith("A") | p["product_id"].isin(sorted(stock_codes.ADJUSTMENT_CODES)),
        "missing_customer": ~p["customer_given"],
        "non_product_code": ~stock_codes.is_product(p["product_id"]),
        "non_positive_quantity": qty <= 0,
        "non_positive_price": price <= 0,
        "duplicate_row": raw.duplicated(keep="first"),
    }
    reason = np.full(len(p), None, dtype=object)
    unset = np.ones(len(p), dtype=bool)
    for name in REASONS:
        hit = unset & np.asarray(rules[name].fillna(False), dtype=bool)
        reason[hit] = name
        unset &= ~hit
    return pd.Series(reason, index=p.index, dtype="string")


def _quarantine(path: Path, raw: pd.DataFrame, reason: pd.Series) -> pd.DataFrame:
    """Rejected rows with their original text as JSON (header as in the file -> cell text, blank cells
    and the missing cells of a short row as ""). Serialised in slices so a mostly rejected file stays cheap."""
    rejected = reason.notna().to_numpy()
    kept = raw.loc[rejected]
    rows: list[str] = []
    for start in range(0, len(kept), JSON_SLICE_ROWS):
        text = kept.iloc[start:start + JSON_SLICE_ROWS].to_json(orient="records", lines=True, force_ascii=False)
        # pandas escapes every "/" as backslash-slash; dropping that backslash keeps dates readable and
        # is safe, as the only backslash right before a "/" is that escape (a literal one is doubled).
        text = text.replace("\\/", "/")
        rows += text.rstrip("\n").split("\n")  # JSON escapes newlines inside values: one line per row
    assert len(rows) == len(kept), "one JSON line per rejected row"
    return pd.DataFrame({
        "source_file": str(path),
        "source_row": np.flatnonzero(rejected) + 1,
        "reason": reason[rejected].to_numpy(),
        "raw": rows,
    }).astype(landing.QUARANTINE_COLUMNS)


def _write_landing(stage: Path, lines: pd.DataFrame, quarantine: pd.DataFrame,
                   customers: pd.DataFrame, products: pd.DataFrame) -> None:
    for day, rows in sorted(lines.groupby("day", sort=False, observed=True).indices.items()):
        part = lines.iloc[rows]
        landing.write_day(stage, "orders", day, part)
        landing.write_day(stage, "events", day, retail_tables.purchase_events(part))
    landing.write_table(stage, "customers", customers)
    landing.write_table(stage, "products", products)
    (stage / "_quarantine").mkdir(parents=True, exist_ok=True)
    quarantine.to_parquet(stage / "_quarantine" / QUARANTINE_FILE, index=False)


def _publish(stage: Path, landing_dir: Path) -> None:
    """Swap the staged tables in: renames within one file system, so the gap is milliseconds."""
    _clear_landing(landing_dir)
    for item in ("orders", "events", "customers.parquet", "products.parquet", f"_quarantine/{QUARANTINE_FILE}"):
        source = stage / item
        if source.exists():
            (landing_dir / item).parent.mkdir(parents=True, exist_ok=True)
            source.rename(landing_dir / item)


def import_online_retail(
    path: Path, landing_dir: Path, progress: Callable[[str], None] | None = None, replace: bool = False
) -> ImportReport:
    """Land an Online Retail CSV (or .xlsx with openpyxl) under ``landing_dir``; see the module doc."""
    path, landing_dir = Path(path).resolve(), Path(landing_dir)
    say = progress or _silent
    _check_landing(landing_dir, replace)  # before reading: a refusal should not cost a 1M-row parse
    raw, encoding = read_table_as_text(path)
    cols = map_columns(raw, COLUMNS, path)
    say(f"read {len(raw):,} rows from {path} ({encoding})")

    parsed, date_family, notes = _parse(cols)
    reason = _reasons(parsed, raw)
    accepted = reason.isna().to_numpy()
    say(f"accepted {int(accepted.sum()):,} rows, quarantined {int((~accepted).sum()):,} (dates: {date_family})")

    lines = retail_tables.order_lines(parsed.loc[accepted])
    customers = retail_tables.customers(lines)
    products = retail_tables.products(lines)
    quarantine = _quarantine(path, raw, reason)
    days = sorted(str(day) for day in lines["day"].unique())
    counts = reason.value_counts()
    report = ImportReport(
        source_file=str(path),
        input_rows=len(raw),
        accepted_rows=len(lines),
        quarantined_rows=len(quarantine),
        quarantine_by_reason={r: int(counts.get(r, 0)) for r in REASONS},
        days=len(days),
        start_date=days[0] if days else None,
        end_date=days[-1] if days else None,
        customers=len(customers),
        products=len(products),
        orders=int(lines["order_id"].nunique()),
        encoding=encoding,
        date_format=date_family,
        notes=list(notes),
    )
    _assert_reconciles(report)  # before anything lands

    stage = landing_dir / ".staging-online-retail"
    shutil.rmtree(stage, ignore_errors=True)
    try:
        _write_landing(stage, lines, quarantine, customers, products)
        _publish(stage, landing_dir)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    say(f"landed {len(lines):,} order lines over {len(days)} days into {landing_dir}")
    dates = {"start_date": report.start_date, "end_date": report.end_date} if days else {}
    landing.write_manifest(
        landing_dir, source=SOURCE, source_file=str(path), input_rows=report.input_rows,
        accepted_rows=report.accepted_rows, quarantined_rows=report.quarantined_rows, **dates,
    )
    report_path = landing_dir / "_reports" / REPORT_FILE
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report.to_dict(), indent=2))
    return report


__all__ = ["REASONS", "ImportReport", "import_online_retail"]
