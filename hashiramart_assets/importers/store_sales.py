"""Import a store daily-sales export (one row per store x day) into the order-line landing zone.

Input: a sales file with one row per store and day (the Kaggle Rossmann ``train.csv`` layout: Store,
DayOfWeek, Date, Sales, Customers, Open, Promo, StateHoliday, SchoolHoliday) and, optionally, a stores
file with one row per store (Rossmann ``store.csv``: Store, StoreType, Assortment, CompetitionDistance ...).
Headers are matched ignoring case, spaces and "_" against the spellings in SALES_COLUMNS / STORE_COLUMNS;
other layouts name their columns with ``column_map`` (CLI ``--column store=shop_id``; ``stores.NAME=...``
for the stores file only). Only store, date and sales are required.

How a store-day becomes the graph's order-line shape (the raw layer, marts and models stay unchanged):
  - each open store-day with sales lands as ONE order line: order_id ``S{store}-{yyyymmdd}``, line_no 1,
    order_ts = midnight of the day, product_id ``store-{store}`` (the store *is* the product),
    quantity = sales rounded to a whole number (int32), unit_price = list_price = 1.0, promo = the promo
    flag, channel "store", country from the file (else the stores file, else "unknown"). Sales amounts
    therefore become units: marts.daily_sales has one product-grain series per store with
    units = revenue = the day's sales (rounded), and the forecaster forecasts store sales;
  - customer_id is a stable pseudo-customer per store (the file has no shoppers): the store number itself
    when the store id is a positive whole number below 10**12 (store 17 -> customer 17), otherwise an id
    >= 10**12 derived from a BLAKE2b hash of the store id; the same store always gets the same id,
    whatever else the file holds;
  - one purchase event per line (retail_tables.purchase_events); one product per store ("Store N",
    department = store type, category = assortment, "store" where unknown; base_price 1.0, launch_date the
    first day with sales) and one customer per store (segment "unknown", signup = first day with sales);
  - nothing is lost: every accepted or closed row is kept in ``store_days.parquet`` (sales, customers,
    open / promo / holiday flags as parsed and as written, DayOfWeek, every column of the file not used
    above, as text) and every store of the stores file in ``stores.parquet`` (all its columns), next to the
    landing tables.

Every input row ends in exactly one of: accepted (landed as a line), closed (a store-day without trading:
Open = 0, or sales 0 without an Open column value; it lands no line but stays in store_days.parquet) or
``_quarantine/store_sales.parquet`` with one reason (the first of REASONS that applies), the field and a
detail naming the value. accepted + closed + quarantined == input rows is asserted before anything lands.

Reasons, in the order they are tried:
  unparseable_row        date not in the file's date layout, sales / customers not a plain number (sales
                         blank on a day that is not closed), a flag (open, promo, school holiday) that is
                         not 0/1/true/false/yes/no or a non-negative number, customers negative or fractional
  missing_store          blank store id
  unknown_store          a stores file was given and does not list the store
  negative_sales         sales < 0
  sales_on_closed_day    Open = 0 but sales > 0
  no_sales_on_open_day   Open = 1 but sales round to 0 units (an order line cannot carry 0 units; the mart
                         shows the day as a zero for that store anyway, since other stores traded)
  duplicate_store_day    the same store and day as an earlier row that passed the rules above (the first
                         row is kept, whatever the later one says)
The stores file has its own reasons (missing_store, duplicate_store) and counts; its rejected rows are in
the same quarantine file, told apart by source_file.

Closed days of the shop: a calendar day on which no store traded (Rossmann: Sundays, public holidays) lands
an explicit empty partition; trading_calendar.record_landed_span infers the closed weekdays and dates of the
span and records them in the manifest; its SpanReport is part of the import report. A single store closed
for refurbishment while others trade is not a closed day for the shop: that store's rows are closed rows and
its series has no line those days.

Replacing, staging, publishing, the manifest and the report are common.py's (``land``), as for Online Retail:
the landing zone must be empty unless ``replace=True`` (which also removes this importer's sidecars); a
failing import leaves it untouched. The report (``_reports/store_sales_import.json``) is common.ImportReport
plus the closed rows, the stores file's counts, the column mapping and a few quarantined examples.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hashiramart_assets import landing
from hashiramart_assets.importers import retail_tables
from hashiramart_assets.importers.common import (
    ImportReport,
    Target,
    check_landing,
    first_reasons,
    land,
    quarantine_frame,
)
from hashiramart_assets.importers.csv_reading import TextTable, normalise_header, read_table_as_text
from hashiramart_assets.importers.parsing import parse_dates, parse_numbers
from hashiramart_assets.importers.regions import region_of

STORE_DAYS_FILE = "store_days.parquet"
STORES_FILE = "stores.parquet"
TARGET = Target(source="store-sales", quarantine_file="store_sales.parquet", report_file="store_sales_import.json",
                extra_files=(STORE_DAYS_FILE, STORES_FILE))

# canonical name -> header spellings (matched ignoring case, spaces and "_"); the first three are required
SALES_COLUMNS: dict[str, tuple[str, ...]] = {
    "store": ("Store", "StoreID", "Store_Nbr", "Shop", "ShopID"),
    "date": ("Date", "Day", "SalesDate"),
    "sales": ("Sales", "SalesAmount", "Turnover"),
    "customers": ("Customers", "CustomerCount"),
    "open": ("Open", "IsOpen"),
    "promo": ("Promo", "IsPromo", "OnPromotion"),
    "state_holiday": ("StateHoliday", "Holiday", "PublicHoliday"),
    "school_holiday": ("SchoolHoliday",),
    "day_of_week": ("DayOfWeek", "Weekday"),
    "country": ("Country",),
}
REQUIRED_SALES = ("store", "date", "sales")
STORE_COLUMNS: dict[str, tuple[str, ...]] = {
    "store": SALES_COLUMNS["store"],
    "store_type": ("StoreType", "Type", "Format"),
    "assortment": ("Assortment",),
    "country": ("Country",),
}
REQUIRED_STORES = ("store",)
STORES_PREFIX = "stores."

REASONS = ("unparseable_row", "missing_store", "unknown_store", "negative_sales", "sales_on_closed_day",
           "no_sales_on_open_day", "duplicate_store_day")
STORE_REASONS = ("missing_store", "duplicate_store")
INT32_MAX = np.iinfo(np.int32).max
NUMERIC_CUSTOMER_LIMIT = 10**12  # store ids below this become their own customer id
HASHED_CUSTOMER_SPAN = 9 * 10**17  # hashed ids: NUMERIC_CUSTOMER_LIMIT .. + this (< 2**63)
TRUE_WORDS = frozenset({"1", "true", "t", "yes", "y"})
FALSE_WORDS = frozenset({"0", "false", "f", "no", "n"})
NO_HOLIDAY = frozenset({"", "0", "false", "f", "no", "n", "none"})
EXAMPLES_PER_REASON = 3


@dataclass
class StoreSalesImportReport(ImportReport):
    """common.ImportReport plus what a store-day file adds. Here ``accepted_rows`` are the store-days landed
    as a line (= ``orders``; ``customers`` = ``products`` = the stores landed), ``start_date``..``end_date``
    is the span recorded in the calendar (first..last day of an accepted *or closed* row: a closed last day
    gets its empty partition), ``days`` the days with at least one line, ``calendar`` the SpanReport."""

    closed_rows: int = 0  # store-days without trading (no line; kept in store_days.parquet)
    units: int = 0  # sum of landed quantities = the sales landed (rounded per store-day)
    stores_file: str | None = None
    stores_input_rows: int = 0
    stores_accepted_rows: int = 0
    stores_quarantined_rows: int = 0
    stores_quarantine_by_reason: dict[str, int] = field(default_factory=dict)
    stores_encoding: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # canonical -> the sales file's header used
    store_columns: dict[str, str] = field(default_factory=dict)
    extra_columns: list[str] = field(default_factory=list)  # kept as text in store_days.parquet
    examples: list[str] = field(default_factory=list)  # "FILE row N, field F: reason (detail)", a few per reason


# ----------------------------------------------------------------------------------------------- columns

def parse_column_map(items: Mapping[str, str] | list[str] | tuple[str, ...] | None) -> dict[str, str]:
    """``["store=shop_id", "stores.store_type=Format"]`` (or a dict) -> {canonical: file column}.

    Unknown canonical names are an error that lists the accepted ones.
    """
    if not items:
        return {}
    pairs = items.items() if isinstance(items, Mapping) else [_split_pair(item) for item in items]
    known = set(SALES_COLUMNS) | {STORES_PREFIX + c for c in STORE_COLUMNS}
    out: dict[str, str] = {}
    for canonical, column in pairs:
        key = canonical.strip().lower()
        if key not in known:
            raise ValueError(
                f"--column {canonical}={column}: {canonical!r} is not a column the importer knows; use one of "
                f"{sorted(SALES_COLUMNS)} (sales file) or {[STORES_PREFIX + c for c in STORE_COLUMNS]} (stores file)"
            )
        out[key] = column.strip()
    return out


def _split_pair(item: str) -> tuple[str, str]:
    canonical, sep, column = item.partition("=")
    if not sep or not canonical.strip() or not column.strip():
        raise ValueError(f"--column {item!r}: expected CANONICAL=FileColumn, e.g. store=shop_id")
    return canonical, column


def _map_columns(
    frame: pd.DataFrame, layout: dict[str, tuple[str, ...]], required: tuple[str, ...],
    overrides: dict[str, str], loose: dict[str, str], source: Path,
) -> dict[str, str]:
    """canonical -> the file's header. ``overrides`` must exist in the file (error naming file and column);
    ``loose`` overrides are tried first and fall back to the known spellings (a sales-file override of
    ``store`` used for the stores file). Missing required columns are an error naming the file."""
    found = {normalise_header(c): c for c in frame.columns}
    mapping: dict[str, str] = {}
    missing = []
    for canonical, spellings in layout.items():
        if canonical in overrides:
            header = found.get(normalise_header(overrides[canonical]))
            if header is None:
                raise ValueError(f"{source}: --column {canonical}={overrides[canonical]}: no such column; "
                                 f"found columns {list(frame.columns)}")
            mapping[canonical] = header
            continue
        tried = ((loose[canonical],) if canonical in loose else ()) + spellings
        header = next((found[normalise_header(s)] for s in tried if normalise_header(s) in found), None)
        if header is not None:
            mapping[canonical] = header
        elif canonical in required:
            missing.append(" or ".join(repr(s) for s in tried))
    if missing:
        raise ValueError(f"{source}: missing required column(s) {', '.join(missing)}; found columns "
                         f"{list(frame.columns)} (name them with --column CANONICAL=FileColumn)")
    taken = list(mapping.values())
    if len(set(taken)) < len(taken):
        doubled = sorted({h for h in taken if taken.count(h) > 1})
        raise ValueError(f"{source}: column(s) {doubled} mapped to more than one of {mapping}")
    return mapping


# ----------------------------------------------------------------------------------------------- parsing

def normalise_store_ids(text: pd.Series) -> pd.Series:
    """Stripped store ids; whole numbers lose leading zeros and a ".0" (Excel), so "0012", "12.0" -> "12"."""
    ids = text.fillna("").astype("string").str.strip()
    numeric = ids.str.fullmatch(r"\d+(\.0+)?").fillna(False).astype(bool)
    if numeric.any():
        ids = ids.copy()
        ids[numeric] = ids[numeric].str.replace(r"\.0+$", "", regex=True).str.lstrip("0").replace("", "0")
    return ids


def pseudo_customer_ids(store_ids: pd.Series) -> pd.Series:
    """A stable int64 customer id per store id (see the module doc); distinct ids per distinct store."""
    codes, uniques = pd.factorize(store_ids.astype(str), sort=False)
    ids = np.empty(len(uniques), dtype=np.int64)
    for i, store in enumerate(uniques):
        if store.isdigit() and 0 < int(store) < NUMERIC_CUSTOMER_LIMIT:
            ids[i] = int(store)
        else:
            digest = int.from_bytes(hashlib.blake2b(store.encode(), digest_size=8).digest(), "big")
            ids[i] = NUMERIC_CUSTOMER_LIMIT + digest % HASHED_CUSTOMER_SPAN
    return pd.Series(ids[codes], index=store_ids.index, dtype="int64")


def parse_flags(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(flag as nullable boolean, bad mask): 1/0, true/false, yes/no, y/n, t/f, or a count (> 0 is true,
    e.g. items on promotion). Blank is NA (not bad); anything else is bad."""
    text = values.fillna("").astype("string").str.strip().str.lower()
    number = parse_numbers(text)
    flag = pd.Series(pd.NA, index=values.index, dtype="boolean")
    flag[text.isin(TRUE_WORDS).to_numpy(dtype=bool)] = True
    flag[text.isin(FALSE_WORDS).to_numpy(dtype=bool)] = False
    counted = flag.isna().to_numpy() & number.notna().to_numpy() & (number >= 0).to_numpy()
    flag[counted] = (number[counted] > 0).to_numpy()
    bad = (flag.isna() & (text != "")).to_numpy(dtype=bool)
    return flag, pd.Series(bad, index=values.index)


@dataclass
class _Parsed:
    frame: pd.DataFrame  # typed columns, one row per input row
    bad: dict[str, pd.Series]  # canonical field -> rows whose value does not parse (unparseable_row)
    date_family: str
    notes: tuple[str, ...]


def _text(raw: pd.DataFrame, mapping: dict[str, str], canonical: str) -> pd.Series:
    if canonical not in mapping:
        return pd.Series("", index=raw.index, dtype="string")
    return raw[mapping[canonical]].fillna("").astype("string").str.strip()


def _parse_sales(raw: pd.DataFrame, mapping: dict[str, str], date_format: str, decimal: str) -> _Parsed:
    dates = parse_dates(_text(raw, mapping, "date"), date_format)
    sales_text = _text(raw, mapping, "sales")
    sales = parse_numbers(sales_text, decimal)
    customers_text = _text(raw, mapping, "customers")
    customers = parse_numbers(customers_text, decimal)
    opened, open_bad = parse_flags(_text(raw, mapping, "open"))
    promo, promo_bad = parse_flags(_text(raw, mapping, "promo"))
    school, school_bad = parse_flags(_text(raw, mapping, "school_holiday"))
    holiday_text = _text(raw, mapping, "state_holiday")
    country = _text(raw, mapping, "country")
    day = dates.timestamps.dt.normalize()
    frame = pd.DataFrame({
        "store_id": normalise_store_ids(_text(raw, mapping, "store")),
        "date": day,
        "sales": sales,
        "units": sales.round(),
        "sales_given": (sales_text != "").to_numpy(dtype=bool),
        "customers": customers,
        "open_flag": opened,
        "promo": promo.fillna(False).astype(bool),
        "state_holiday": holiday_text,
        "state_holiday_flag": ~holiday_text.str.lower().isin(NO_HOLIDAY).to_numpy(dtype=bool),
        "school_holiday": school.fillna(False).astype(bool),
        "day_of_week": _text(raw, mapping, "day_of_week"),
        "country": country.mask(country == "", pd.NA),
    })
    closed_without_sales = (opened == False).fillna(False).to_numpy(dtype=bool) & (sales_text == "").to_numpy()  # noqa: E712
    bad = {
        "date": dates.timestamps.isna(),
        "sales": (sales.isna() & ~pd.Series(closed_without_sales, index=raw.index)) | (sales.abs() > INT32_MAX),
        "customers": (customers_text != "") & (customers.isna() | (customers < 0) | (customers % 1 != 0)),
        "open": open_bad,
        "promo": promo_bad,
        "school_holiday": school_bad,
    }
    bad = {name: pd.Series(np.asarray(mask.fillna(False), dtype=bool), index=raw.index) for name, mask in bad.items()}
    return _Parsed(frame, bad, dates.family, dates.notes)


def _sales_outcome(p: pd.DataFrame, bad: dict[str, pd.Series], known_stores: set[str] | None
                   ) -> tuple[pd.Series, np.ndarray]:
    """(reason per row, NA = not quarantined; closed mask among the rest). See REASONS in the module doc."""
    unparseable = np.zeros(len(p), dtype=bool)
    for mask in bad.values():
        unparseable |= mask.to_numpy(dtype=bool)
    open_flag = p["open_flag"]
    is_closed_flag = (open_flag == False).fillna(False).to_numpy(dtype=bool)  # noqa: E712
    is_open_flag = (open_flag == True).fillna(False).to_numpy(dtype=bool)  # noqa: E712
    sales = p["sales"].fillna(0).to_numpy()
    units = p["units"].fillna(0).to_numpy()
    rules = {
        "unparseable_row": unparseable,
        "missing_store": (p["store_id"] == "").to_numpy(dtype=bool),
        "negative_sales": sales < 0,
        "sales_on_closed_day": is_closed_flag & (sales > 0),
        "no_sales_on_open_day": is_open_flag & (units == 0),
    }
    rules["unknown_store"] = (np.zeros(len(p), dtype=bool) if known_stores is None
                              else ~p["store_id"].isin(sorted(known_stores)).to_numpy(dtype=bool))
    rules["duplicate_store_day"] = np.zeros(len(p), dtype=bool)  # below: among the rows that passed
    reason = first_reasons(rules, REASONS, p.index)
    passed = reason.isna().to_numpy()
    duplicate = np.zeros(len(p), dtype=bool)
    keyed = p.loc[passed, ["store_id", "date"]]
    duplicate[np.flatnonzero(passed)[keyed.duplicated(keep="first").to_numpy()]] = True
    reason[duplicate] = "duplicate_store_day"
    closed = reason.isna().to_numpy() & (is_closed_flag | (units == 0))
    return reason, closed


def _field_of(reason: pd.Series, bad: dict[str, pd.Series], mapping: dict[str, str]) -> pd.Series:
    """The sales-file header each quarantined row is rejected for."""
    fields = pd.Series(pd.NA, index=reason.index, dtype="string")
    unparseable = (reason == "unparseable_row").fillna(False).to_numpy(dtype=bool)
    for canonical, mask in bad.items():  # the first field that does not parse, in column order
        hit = unparseable & mask.to_numpy() & fields.isna().to_numpy()
        fields[hit] = mapping.get(canonical, canonical)
    per_reason = {"missing_store": "store", "unknown_store": "store", "negative_sales": "sales",
                  "sales_on_closed_day": "open", "no_sales_on_open_day": "sales", "duplicate_store_day": "store"}
    for name, canonical in per_reason.items():
        hit = (reason == name).fillna(False).to_numpy()
        fields[hit] = mapping.get(canonical, canonical) if name != "duplicate_store_day" \
            else f"{mapping['store']}+{mapping['date']}"
    return fields


def _details(raw: pd.DataFrame, reason: pd.Series, fields: pd.Series, mapping: dict[str, str]) -> pd.Series:
    """'Sales='abc' is not a number' style text per quarantined row (small: only rejected rows)."""
    problem = {"unparseable_row": "does not parse", "missing_store": "is blank",
               "unknown_store": "is not in the stores file", "negative_sales": "is negative",
               "sales_on_closed_day": "is 0 (closed) but the day has sales",
               "no_sales_on_open_day": "rounds to 0 units on an open day",
               "duplicate_store_day": "repeats an earlier row's store and day"}
    out = pd.Series(pd.NA, index=reason.index, dtype="string")
    for idx in np.flatnonzero(reason.notna().to_numpy()):
        name, header = reason.iat[idx], fields.iat[idx]
        if name == "duplicate_store_day":
            value = f"{raw[mapping['store']].iat[idx]!s}/{raw[mapping['date']].iat[idx]!s}"
        else:
            value = str(raw[header].iat[idx]) if header in raw.columns else ""
        out.iat[idx] = f"{header}={value!r} {problem[name]}"
    return out


# ------------------------------------------------------------------------------------------------ stores

@dataclass
class _Stores:
    table: pd.DataFrame  # store_id, store_type, assortment, country, source_row, file columns as text
    reason: pd.Series  # per stores-file row, NA = kept
    mapping: dict[str, str]
    text: TextTable

    @property
    def raw(self) -> pd.DataFrame:
        return self.text.frame


def _read_stores(path: Path, overrides: dict[str, str], sales_overrides: dict[str, str],
                 delimiter: str | None) -> _Stores:
    text = read_table_as_text(path, delimiter=delimiter)
    raw = text.frame
    loose = {c: sales_overrides[c] for c in ("store", "country") if c in sales_overrides}
    mapping = _map_columns(raw, STORE_COLUMNS, REQUIRED_STORES, overrides, loose, path)
    ids = normalise_store_ids(_text(raw, mapping, "store"))
    missing = (ids == "").to_numpy(dtype=bool)
    duplicate = np.zeros(len(raw), dtype=bool)
    duplicate[np.flatnonzero(~missing)[ids[~missing].duplicated(keep="first").to_numpy()]] = True
    reason = first_reasons({"missing_store": missing, "duplicate_store": duplicate}, STORE_REASONS, raw.index)
    kept = reason.isna().to_numpy()
    table = pd.DataFrame({
        "store_id": ids,
        "store_type": _text(raw, mapping, "store_type"),
        "assortment": _text(raw, mapping, "assortment"),
        "country": _text(raw, mapping, "country"),
        "source_row": text.source_rows(),
    })
    extras = _extra_columns(raw, mapping, set(table.columns))
    table = pd.concat([table, extras], axis=1).loc[kept].reset_index(drop=True)
    return _Stores(table, reason, mapping, text)


def _stores_quarantine(path: Path, stores: _Stores) -> pd.DataFrame:
    header = stores.mapping["store"]
    problem = {"missing_store": "is blank", "duplicate_store": "repeats an earlier row's store"}
    fields = pd.Series(pd.NA, index=stores.raw.index, dtype="string")
    details = pd.Series(pd.NA, index=stores.raw.index, dtype="string")
    for idx in np.flatnonzero(stores.reason.notna().to_numpy()):
        fields.iat[idx] = header
        details.iat[idx] = f"{header}={stores.raw[header].iat[idx]!r} {problem[stores.reason.iat[idx]]}"
    return _quarantine_frame(path, stores.text, stores.reason, fields, details)


def _extra_columns(raw: pd.DataFrame, mapping: dict[str, str], taken: set[str]) -> pd.DataFrame:
    """The file's columns not mapped to a canonical name, as text; renamed ``file_X`` on a name clash."""
    used = set(mapping.values())
    columns = {}
    for header in raw.columns:
        if header in used:
            continue
        name = str(header) if str(header) not in taken else f"file_{header}"
        columns[name] = raw[header].fillna("").astype("string")
    return pd.DataFrame(columns, index=raw.index)


# ----------------------------------------------------------------------------------------------- landing

def _lines(days: pd.DataFrame) -> pd.DataFrame:
    """Order lines from accepted store-days (columns store_id, date, units, promo, country, customer_id)."""
    stamp = days["date"].dt.strftime("%Y%m%d")
    lines = pd.DataFrame({
        "order_id": ("S" + days["store_id"].astype(str) + "-" + stamp).to_numpy(),
        "line_no": np.ones(len(days), dtype=np.int32),
        "order_ts": days["date"].to_numpy(),
        "customer_id": days["customer_id"].to_numpy(dtype=np.int64),
        "product_id": ("store-" + days["store_id"].astype(str)).to_numpy(),
        "quantity": days["units"].to_numpy().astype(np.int32),
        "unit_price": 1.0,
        "list_price": 1.0,
        "promo": days["promo"].to_numpy(dtype=bool),
        "is_return": False,
        "channel": "store",
        "country": days["country"].to_numpy(),
    })
    lines["day"] = days["date"].dt.strftime("%Y-%m-%d").to_numpy()
    return lines


def _dimensions(lines: pd.DataFrame, stores: pd.DataFrame | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(customers, products): one per store with at least one landed line."""
    per_store = lines.groupby(["product_id", "customer_id", "country"], sort=True, observed=True)["order_ts"].min()
    first = per_store.reset_index().rename(columns={"order_ts": "first_day"})
    first["store_id"] = first["product_id"].str.removeprefix("store-")
    attrs = pd.DataFrame({"store_id": first["store_id"], "store_type": "", "assortment": ""})
    if stores is not None:
        attrs = first[["store_id"]].merge(stores[["store_id", "store_type", "assortment"]], on="store_id", how="left")
    department = attrs["store_type"].fillna("").replace("", "store").to_numpy()
    category = attrs["assortment"].fillna("").replace("", "store").to_numpy()
    products = pd.DataFrame({
        "product_id": first["product_id"],
        "name": "Store " + first["store_id"],
        "department": department,
        "category": category,
        "category_path": pd.Series(department) + " > " + pd.Series(category),
        "base_price": 1.0,
        "launch_date": first["first_day"].dt.normalize(),
    })
    region = region_of(first["country"]).where(first["country"] != "unknown", "Unknown")
    customers = pd.DataFrame({
        "customer_id": first["customer_id"],
        "signup_date": first["first_day"].dt.normalize(),
        "segment": "unknown",
        "region": region.to_numpy(),
        "country": first["country"],
    })
    return customers, products


def _store_country(p: pd.DataFrame, stores: pd.DataFrame | None) -> pd.Series:
    """Per row: the store's most frequent country in the sales file, else the stores file's, else 'unknown'."""
    given = p.loc[p["country"].notna(), ["store_id", "country"]]
    by_store = retail_tables.most_frequent(given, "store_id", "country") if len(given) else pd.Series(dtype="string")
    country = p["store_id"].map(by_store)
    if stores is not None:
        from_file = stores.loc[stores["country"] != ""].set_index("store_id")["country"]
        country = country.fillna(p["store_id"].map(from_file))
    return country.fillna("unknown").astype("string")


def _quarantine_frame(path: Path, text: TextTable, reason: pd.Series, fields: pd.Series,
                      details: pd.Series) -> pd.DataFrame:
    """common.quarantine_frame (source_file, source_row, reason, the row as JSON) plus the field and a
    detail naming the value."""
    rejected = reason.notna().to_numpy()
    return quarantine_frame(path, text, reason).assign(
        field=pd.Series(fields.to_numpy()[rejected], dtype="string"),
        detail=pd.Series(details.to_numpy()[rejected], dtype="string"),
    )


def _examples(quarantine: pd.DataFrame) -> list[str]:
    out = []
    for _, rows in quarantine.groupby("reason", sort=False):
        for row in rows.head(EXAMPLES_PER_REASON).itertuples():
            out.append(f"{row.source_file} row {row.source_row}, field {row.field}: {row.reason} ({row.detail})")
    return out


def _assert_reconciles(report: StoreSalesImportReport) -> None:
    """accepted + closed + quarantined == input, and the reasons add up; explicit so -O cannot skip it."""
    if report.accepted_rows + report.closed_rows + report.quarantined_rows != report.input_rows:
        raise AssertionError(f"rows do not reconcile: {report}")
    if sum(report.quarantine_by_reason.values()) != report.quarantined_rows:
        raise AssertionError(f"quarantine reasons do not add up: {report}")
    if report.stores_accepted_rows + report.stores_quarantined_rows != report.stores_input_rows:
        raise AssertionError(f"stores file rows do not reconcile: {report}")


def import_store_sales(
    path: Path,
    landing_dir: Path,
    stores_path: Path | None = None,
    column_map: Mapping[str, str] | list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    replace: bool = False,
    date_format: str = "auto",
    decimal: str = ".",
    delimiter: str | None = None,
) -> StoreSalesImportReport:
    """Land a store daily-sales file (and optional stores file) under ``landing_dir``; see the module doc.

    ``date_format`` ("auto", a family of parsing.DATE_FAMILIES or a strftime format), ``decimal`` ("." or
    ",") and ``delimiter`` (None: detected) are passed to the shared readers (both files)."""
    path, landing_dir = Path(path).resolve(), Path(landing_dir)
    stores_path = Path(stores_path).resolve() if stores_path else None
    say = progress or (lambda _message: None)
    overrides = parse_column_map(column_map)
    sales_overrides = {k: v for k, v in overrides.items() if not k.startswith(STORES_PREFIX)}
    store_overrides = {k.removeprefix(STORES_PREFIX): v for k, v in overrides.items() if k.startswith(STORES_PREFIX)}
    check_landing(landing_dir, replace)  # before reading: a refusal should not cost a 1M-row parse

    stores = _read_stores(stores_path, store_overrides, sales_overrides, delimiter) if stores_path else None
    if stores is not None:
        say(f"read {len(stores.raw):,} stores from {stores_path} ({stores.text.encoding})")
    text = read_table_as_text(path, delimiter=delimiter)
    raw = text.frame
    mapping = _map_columns(raw, SALES_COLUMNS, REQUIRED_SALES, sales_overrides, {}, path)
    say(f"read {len(raw):,} rows from {path} ({text.encoding}); columns {mapping}")

    parsed = _parse_sales(raw, mapping, date_format, decimal)
    p = parsed.frame
    known = set(stores.table["store_id"]) if stores is not None else None
    reason, closed = _sales_outcome(p, parsed.bad, known)
    accepted = reason.isna().to_numpy() & ~closed
    kept_rows = accepted | closed
    p["customer_id"] = pseudo_customer_ids(p["store_id"])
    p["country"] = _store_country(p, stores.table if stores is not None else None)
    fields = _field_of(reason, parsed.bad, mapping)
    quarantine = _quarantine_frame(path, text, reason, fields, _details(raw, reason, fields, mapping))
    if stores is not None and stores_path is not None:  # stores is read only when stores_path is given
        quarantine = pd.concat([quarantine, _stores_quarantine(stores_path, stores)], ignore_index=True)
    say(f"accepted {int(accepted.sum()):,} store-days, closed {int(closed.sum()):,}, "
        f"quarantined {int(reason.notna().sum()):,} (dates: {parsed.date_family})")

    lines = _lines(p.loc[accepted])
    if lines.empty:
        raise ValueError(f"{path}: no store-day with sales to land ({len(raw)} rows: {int(closed.sum())} closed, "
                         f"{int(reason.notna().sum())} quarantined)")
    customers, products = _dimensions(lines, stores.table if stores is not None else None)
    kept = p.loc[kept_rows].copy()
    kept["source_row"] = text.source_rows()[kept_rows]
    kept["open"] = accepted[kept_rows]
    extra = {STORE_DAYS_FILE: _store_days(kept, raw.loc[kept_rows], mapping)}
    if stores is not None:
        extra[STORES_FILE] = _stores_table(stores.table)
    counts = reason.value_counts()
    store_counts = stores.reason.value_counts() if stores is not None else pd.Series(dtype=int)
    report = StoreSalesImportReport(
        source_file=str(path),
        input_rows=len(raw),
        accepted_rows=int(accepted.sum()),
        quarantined_rows=int(reason.notna().sum()),
        quarantine_by_reason={r: int(counts.get(r, 0)) for r in REASONS},
        days=int(lines["day"].nunique()),
        start_date=str(kept["date"].min().date()),
        end_date=str(kept["date"].max().date()),
        customers=len(customers),
        products=len(products),
        orders=len(lines),
        encoding=text.encoding,
        date_format=parsed.date_family,
        notes=list(parsed.notes) + _notes(p, kept_rows, mapping, known),
        delimiter=text.delimiter,
        compression=text.compression,
        sheets=dict(text.sheets),
        closed_rows=int(closed.sum()),
        units=int(lines["quantity"].sum()),
        stores_file=str(stores_path) if stores_path else None,
        stores_input_rows=len(stores.raw) if stores is not None else 0,
        stores_accepted_rows=len(stores.table) if stores is not None else 0,
        stores_quarantined_rows=int(stores.reason.notna().sum()) if stores is not None else 0,
        stores_quarantine_by_reason={r: int(store_counts.get(r, 0)) for r in STORE_REASONS},
        stores_encoding=stores.text.encoding if stores is not None else "",
        columns=dict(mapping),
        store_columns=dict(stores.mapping) if stores is not None else {},
        extra_columns=[str(c) for c in raw.columns if c not in set(mapping.values())],
        examples=_examples(quarantine),
    )
    _assert_reconciles(report)  # before anything lands
    land(TARGET, path, landing_dir, report, lines, quarantine, customers, products, extra=extra, progress=say)
    landing.write_manifest(landing_dir, closed_rows=report.closed_rows, stores_file=report.stores_file)
    return report


def _notes(p: pd.DataFrame, kept: np.ndarray, mapping: dict[str, str], known: set[str] | None) -> list[str]:
    notes = []
    if "open" not in mapping:
        notes.append("no Open column: a store-day with 0 sales is read as closed")
    if "day_of_week" in mapping:
        given = parse_numbers(p.loc[kept, "day_of_week"])
        iso = p.loc[kept, "date"].dt.dayofweek + 1
        off = int((given.notna() & (given != iso)).sum())
        if off:
            notes.append(f"{mapping['day_of_week']} differs from the date's ISO weekday (Monday = 1) on {off} "
                         "row(s); kept as in the file, the date decides")
    if known is not None:
        unsold = len(known - set(p.loc[kept, "store_id"]))
        if unsold:
            notes.append(f"{unsold} store(s) of the stores file have no accepted row in the sales file")
    return notes


def _store_days(kept: pd.DataFrame, raw: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """Every accepted or closed store-day with all the file said about it (see the module doc)."""
    out = pd.DataFrame({
        "source_row": kept["source_row"].to_numpy(),
        "store_id": kept["store_id"].astype("string").array,
        "product_id": ("store-" + kept["store_id"].astype("string")).array,
        "customer_id": kept["customer_id"].to_numpy(dtype=np.int64),
        "date": kept["date"].to_numpy(),
        "sales": kept["sales"].to_numpy(),
        "units": np.where(kept["open"], kept["units"].fillna(0), 0).astype(np.int32),
        "customers": pd.array(kept["customers"].to_numpy(), dtype="Float64").astype("Int64"),
        "open": kept["open"].to_numpy(dtype=bool),
        "open_given": kept["open_flag"].astype("boolean").array,
        "promo": kept["promo"].to_numpy(dtype=bool),
        "state_holiday": kept["state_holiday"].astype("string").array,
        "state_holiday_flag": kept["state_holiday_flag"].to_numpy(dtype=bool),
        "school_holiday": kept["school_holiday"].to_numpy(dtype=bool),
        "day_of_week": kept["day_of_week"].astype("string").array,
        "country": kept["country"].astype("string").array,
    })
    extras = _extra_columns(raw, mapping, set(out.columns)).reset_index(drop=True)
    return pd.concat([out, extras], axis=1)


def _stores_table(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    out.insert(1, "product_id", "store-" + out["store_id"].astype(str))
    out.insert(2, "customer_id", pseudo_customer_ids(out["store_id"]).to_numpy())
    return out


__all__ = ["REASONS", "STORE_REASONS", "StoreSalesImportReport", "import_store_sales", "parse_column_map",
           "pseudo_customer_ids"]
