"""Import a UCI Online Retail (I or II) export into the landing zone, quarantining what is not a sale.

Every input row ends either in the landed order lines or in ``_quarantine/online_retail.parquet``
with exactly one reason (the first rule of REASONS that applies), the column that failed and its
value (or which row it copies) and its original text (common.py), so the
import can assert accepted + quarantined == input rows and report the counts per reason.

Reasons, in the order they are tried:
  duplicate_across_sheets  (workbooks) the same text as a row of an earlier sheet: UCI's two yearly
                         sheets both hold 2010-12-01..2010-12-09 (common.py); the report's sheet_overlap
                         says how many rows and which days
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
The trading calendar of first..last accepted day is inferred and recorded (closed days get explicit
empty partitions) and reported as ``calendar`` (common.land).

The file may be a CSV (plain or gzip/bz2/xz compressed, any of csv_reading.DELIMITERS) or a workbook
(every sheet stacked; quarantined rows then name their sheet: ``source_file`` = ``path#sheet``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from hashiramart_assets.importers import stock_codes
from hashiramart_assets.importers.common import (
    DUPLICATE_ACROSS_SHEETS,
    ImportReport,
    Target,
    check_landing,
    duplicate_across_sheets,
    first_reasons,
    land_sales,
)
from hashiramart_assets.importers.csv_reading import TextTable, match_headers, read_table_as_text
from hashiramart_assets.importers.parsing import parse_dates, parse_numbers

SOURCE = "online-retail"
QUARANTINE_FILE = "online_retail.parquet"
REPORT_FILE = "online_retail_import.json"
TARGET = Target(SOURCE, QUARANTINE_FILE, REPORT_FILE)
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
REASONS = (DUPLICATE_ACROSS_SHEETS, "unparseable_row", "cancellation", "adjustment", "missing_customer",
           "non_product_code", "non_positive_quantity", "non_positive_price", "duplicate_row")
INT32_MAX = np.iinfo(np.int32).max


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


def _reasons(p: pd.DataFrame, table: TextTable, h: dict[str, str]) -> tuple[pd.Series, dict[str, str | pd.Series]]:
    """One reason per rejected row (first rule that applies, REASONS order), NA for accepted rows; and the
    file column (``h``: canonical -> header) that fails per reason (common.rejection_fields)."""
    qty, price, cust = p["quantity"], p["unit_price"], p["customer_id"]
    unparseable = {  # the file's column -> rows whose value there does not parse, in column order
        h["invoice"]: p["invoice"] == "",
        h["stock_code"]: p["product_id"] == "",
        h["quantity"]: qty.isna() | (qty % 1 != 0) | (qty.abs() > INT32_MAX),
        h["invoice_date"]: p["ts"].isna(),
        h["price"]: price.isna(),
        h["customer"]: p["customer_given"] & (cust.isna() | (cust <= 0) | (cust % 1 != 0)),
    }
    adjustment_invoice = p["invoice"].str.startswith("A").to_numpy(dtype=bool)
    rules = {
        DUPLICATE_ACROSS_SHEETS: duplicate_across_sheets(table),
        "unparseable_row": np.logical_or.reduce([m.fillna(False).to_numpy(dtype=bool) for m in unparseable.values()]),
        "cancellation": p["invoice"].str.startswith("C"),
        "adjustment": adjustment_invoice | p["product_id"].isin(sorted(stock_codes.ADJUSTMENT_CODES)).to_numpy(bool),
        "missing_customer": ~p["customer_given"],
        "non_product_code": ~stock_codes.is_product(p["product_id"]),
        "non_positive_quantity": qty <= 0,
        "non_positive_price": price <= 0,
        "duplicate_row": table.frame.duplicated(keep="first"),
    }
    fields = {
        "unparseable_row": first_reasons(unparseable, tuple(unparseable), p.index),
        "cancellation": h["invoice"],
        "adjustment": pd.Series(np.where(adjustment_invoice, h["invoice"], h["stock_code"]), index=p.index),
        "missing_customer": h["customer"],
        "non_product_code": h["stock_code"],
        "non_positive_quantity": h["quantity"],
        "non_positive_price": h["price"],
    }
    return first_reasons(rules, REASONS, p.index), fields


def import_online_retail(
    path: Path, landing_dir: Path, progress: Callable[[str], None] | None = None, replace: bool = False
) -> ImportReport:
    """Land an Online Retail CSV (optionally compressed) or workbook under ``landing_dir``; see the module doc."""
    path, landing_dir = Path(path).resolve(), Path(landing_dir)
    say = progress or (lambda _message: None)
    check_landing(landing_dir, replace)  # before reading: a refusal should not cost a 1M-row parse
    table = read_table_as_text(path)
    headers = match_headers(table.frame, COLUMNS, path)
    say(f"read {len(table.frame):,} rows from {path} ({table.encoding})")

    parsed, date_family, notes = _parse(pd.DataFrame({c: table.frame[h] for c, h in headers.items()}))
    reason, fields = _reasons(parsed, table, headers)
    accepted = reason.isna().to_numpy()
    say(f"accepted {int(accepted.sum()):,} rows, quarantined {int((~accepted).sum()):,} (dates: {date_family})")

    return land_sales(TARGET, path, landing_dir, table, reason, REASONS, parsed.loc[accepted], parsed["ts"],
                      date_family, notes, progress=say, fields=fields)


__all__ = ["REASONS", "ImportReport", "import_online_retail"]
