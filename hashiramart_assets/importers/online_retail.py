"""Import a UCI Online Retail (I or II) export into the landing zone, quarantining what is not a sale.

Every input row ends either in the landed order lines or in ``_quarantine/online_retail.parquet``
with one reason (the first rule that applies, in REASONS order) and its original text; the import
asserts accepted + quarantined == input rows and reports the counts per reason.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from hashiramart_assets import landing
from hashiramart_assets.importers import stock_codes
from hashiramart_assets.importers.categories import categorise
from hashiramart_assets.importers.csv_reading import map_columns, read_table_as_text

ALIASES: dict[str, tuple[str, ...]] = {
    "invoice": ("invoiceno", "invoice"),
    "stock_code": ("stockcode",),
    "description": ("description",),
    "quantity": ("quantity",),
    "invoice_date": ("invoicedate",),
    "price": ("unitprice", "price"),
    "customer": ("customerid", "customer"),
    "country": ("country",),
}
DATE_FORMATS = ("%m/%d/%Y %H:%M", "%m/%d/%y %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M",
                "%d/%m/%Y %H:%M", "%d.%m.%Y %H:%M", "%m/%d/%Y %H:%M:%S")
REASONS = ("unparseable_row", "cancellation", "adjustment", "missing_customer", "non_product_code",
           "non_positive_quantity", "non_positive_price", "duplicate_row")
QUARANTINE_FILE = "online_retail.parquet"


@dataclass
class ImportReport:
    source_file: str
    input_rows: int
    accepted_rows: int
    quarantined_rows: int
    quarantine_by_reason: dict[str, int]
    days: int
    start_date: str | None
    end_date: str | None
    customers: int
    products: int
    orders: int
    encoding: str = ""
    date_format: str = ""
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def parse_dates(text: pd.Series) -> tuple[pd.Series, str]:
    """Pick the format that parses most rows, then let the others fill what it could not parse."""
    cleaned = text.str.strip()
    parsed = {fmt: pd.to_datetime(cleaned, format=fmt, errors="coerce") for fmt in DATE_FORMATS}
    best = max(DATE_FORMATS, key=lambda fmt: int(parsed[fmt].notna().sum()))
    result = parsed[best]
    for fmt in DATE_FORMATS:
        result = result.fillna(parsed[fmt])
    return result, best


def _numbers(text: pd.Series) -> pd.Series:
    return pd.to_numeric(text.str.strip().str.replace(",", "", regex=False), errors="coerce")


def _reasons(df: pd.DataFrame, raw: pd.DataFrame) -> pd.Series:
    """One reason per rejected row (first rule that applies), NA for accepted rows."""
    invoice = df["invoice"].str.strip().str.upper()
    qty, price, cust = df["qty"], df["unit_price"], df["customer_num"]
    rules = {
        "unparseable_row": df["ts"].isna() | qty.isna() | price.isna() | (qty.notna() & (qty % 1 != 0))
        | (invoice == "") | (df["stock_code"].str.strip() == ""),
        "cancellation": invoice.str.startswith("C"),
        "adjustment": invoice.str.startswith("A") | stock_codes.is_adjustment(df["stock_code"]),
        "missing_customer": cust.isna() | (cust <= 0) | (cust % 1 != 0),
        "non_product_code": ~stock_codes.is_product(df["stock_code"]),
        "non_positive_quantity": qty <= 0,
        "non_positive_price": price <= 0,
        "duplicate_row": raw.duplicated(keep="first"),
    }
    reason = pd.Series(pd.NA, index=df.index, dtype="string")
    for name in REASONS:
        hit = rules[name].fillna(False).astype(bool) & reason.isna()
        reason[hit] = name
    return reason


def _clear_landing(landing_dir: Path, replace: bool) -> None:
    existing = landing.landed_days(landing_dir, "orders") + landing.landed_days(landing_dir, "events")
    if existing and not replace:
        raise ValueError(
            f"{landing_dir} already holds {len(existing)} landed day file(s); import with --replace to "
            f"replace them, or set HASHIRAMART_HOME / HASHIRAMART_LANDING_DIR to an empty place"
        )
    for name in ("orders", "events", "_quarantine"):
        shutil.rmtree(landing_dir / name, ignore_errors=True)
    for name in ("customers.parquet", "products.parquet", "_manifest.json"):
        (landing_dir / name).unlink(missing_ok=True)


def import_online_retail(
    path: Path, landing_dir: Path, progress: Callable[[str], None] | None = None, replace: bool = False
) -> ImportReport:
    path, landing_dir = Path(path), Path(landing_dir)
    say = progress or (lambda _msg: None)
    raw, encoding = read_table_as_text(path)
    df = map_columns(raw, ALIASES, path).astype("string")
    say(f"read {len(df):,} rows from {path} ({encoding})")
    df["qty"] = _numbers(df["quantity"])
    df["unit_price"] = _numbers(df["price"])
    df["customer_num"] = _numbers(df["customer"])
    df["ts"], date_format = parse_dates(df["invoice_date"])
    reason = _reasons(df, raw)
    rejected = reason.notna()
    _clear_landing(landing_dir, replace)

    quarantine = pd.DataFrame({
        "source_file": str(path),
        "source_row": (df.index[rejected] + 1).astype("int64"),
        "reason": reason[rejected].to_numpy(),
        "raw": raw.loc[rejected].to_json(orient="records", lines=True, force_ascii=False).splitlines()
        if rejected.any() else [],
    })
    (landing_dir / "_quarantine").mkdir(parents=True, exist_ok=True)
    quarantine.astype(landing.QUARANTINE_COLUMNS).to_parquet(landing_dir / "_quarantine" / QUARANTINE_FILE, index=False)

    ok = df.loc[~rejected]
    lines = pd.DataFrame({
        "order_id": ok["invoice"].str.strip().str.upper(),
        "order_ts": ok["ts"],
        "customer_id": ok["customer_num"].astype("int64"),
        "product_id": stock_codes.normalise(ok["stock_code"]),
        "quantity": ok["qty"].astype("int32"),
        "unit_price": ok["unit_price"].astype("float64"),
        "country": ok["country"].str.strip().replace("", "Unspecified"),
        "description": ok["description"].str.strip(),
    })
    lines["line_no"] = (lines.groupby("order_id", sort=False).cumcount() + 1).astype("int32")
    lines["list_price"] = lines["unit_price"]
    lines["promo"] = False
    lines["is_return"] = False
    lines["channel"] = "unknown"
    lines["day"] = lines["order_ts"].dt.date.astype(str)

    for day, part in lines.groupby("day", sort=True):
        landing.write_day(landing_dir, "orders", day, part)
        events = pd.DataFrame({
            "event_id": "E-" + part["order_id"] + "-" + part["line_no"].astype(str),
            "event_ts": part["order_ts"],
            "customer_id": part["customer_id"],
            "session_id": part["order_id"],
            "product_id": part["product_id"],
            "event_type": "purchase",
            "order_id": part["order_id"],
        })
        landing.write_day(landing_dir, "events", day, events)
    say(f"landed {len(lines):,} order lines over {lines['day'].nunique()} days")

    first_day = lines["order_ts"].dt.normalize()
    customers = (
        lines.assign(first=first_day)
        .groupby("customer_id")
        .agg(signup_date=("first", "min"), country=("country", lambda s: s.mode().iat[0]))
        .reset_index()
    )
    customers["segment"] = "unknown"  # the export has no segment; RFM later gives a behavioural one
    customers["region"] = customers["country"]
    landing.write_table(landing_dir, "customers", customers)

    described = lines[lines["description"].fillna("") != ""]
    names = described.groupby("product_id")["description"].agg(lambda s: s.mode().iat[0])
    products = (
        lines.assign(first=first_day)
        .groupby("product_id")
        .agg(base_price=("unit_price", "median"), launch_date=("first", "min"))
    )
    products["name"] = names.reindex(products.index).fillna(products.index.to_series())
    products = products.reset_index()
    tree = categorise(products["name"])
    products["department"], products["category"] = tree["department"], tree["category"]
    products["category_path"] = products["department"] + " > " + products["category"]
    landing.write_table(landing_dir, "products", products)

    by_reason = {r: int(c) for r, c in reason[rejected].value_counts().items()}
    report = ImportReport(
        source_file=str(path),
        input_rows=len(df),
        accepted_rows=len(lines),
        quarantined_rows=int(rejected.sum()),
        quarantine_by_reason={r: by_reason.get(r, 0) for r in REASONS if by_reason.get(r, 0)},
        days=int(lines["day"].nunique()),
        start_date=str(lines["day"].min()) if len(lines) else None,
        end_date=str(lines["day"].max()) if len(lines) else None,
        customers=len(customers),
        products=len(products),
        orders=int(lines["order_id"].nunique()),
        encoding=encoding,
        date_format=date_format,
    )
    assert report.accepted_rows + report.quarantined_rows == report.input_rows, report
    if report.start_date:
        landing.write_manifest(
            landing_dir, source="online-retail", source_file=str(path), start_date=report.start_date,
            end_date=report.end_date, input_rows=report.input_rows, accepted_rows=report.accepted_rows,
            quarantined_rows=report.quarantined_rows,
        )
    reports = landing_dir / "_reports"
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "online_retail_import.json").write_text(json.dumps(report.to_dict(), indent=2))
    return report


__all__ = ["ImportReport", "import_online_retail"]
