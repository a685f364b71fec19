"""Import any shop's order-line export (CSV - plain or compressed, any delimiter - or workbook) into the
landing zone, given which of its columns holds what.

The mapping names, for each field, the file's column (headers match exactly, else ignoring case, spaces
and "_"): required order_id, timestamp, customer_id, product_id, quantity, unit_price; optional category,
country, channel, description, product_name. It comes from a small YAML file, from CLI flags
(``--column timestamp="Order Date"``, which override the file), or both::

    columns:                       # field: column of the file
      order_id: Order Number
      timestamp: Order Date
      customer_id: Customer Email
      product_id: SKU
      quantity: Qty
      unit_price: Unit Price
      category: Category           # "Home > Kitchen": department > category; else the keyword rule is not used
    date_format: auto              # auto | iso | us | european | a strftime format ("%d.%m.%Y %H:%M")
    decimal: "."                   # "," for "2,55" / "1.234,50"
    delimiter: ";"                 # default: detected from the header
    returns: quarantine            # quarantine | land (negative quantities as is_return lines)
    customer_ids: auto             # auto | numeric | hash

Every input row ends in the landed order lines or in ``_quarantine/orders.parquet`` with exactly one
reason (the first of REASONS that applies), the column that failed and its value (or the row it
copies) and its original text, so accepted + quarantined == input rows; the report is printed and
saved as ``_reports/orders_import.json`` with the trading calendar of the landed span (common.py:
staging, replace, calendar, manifest and the landing tables are shared with online_retail.py).

Reasons, in the order they are tried:
  duplicate_across_sheets  (workbooks) a copy of a row of an earlier sheet (common.py)
  unparseable_row        timestamp not in the date layout, quantity or unit price not a number in the
                         declared decimal mark, fractional or out-of-range quantity, empty order or
                         product id, or (numeric customer ids) a customer id that is not a positive
                         whole number
  missing_customer       blank customer id: a sale nobody can be credited with
  return                 negative quantity, unless returns="land" (then it lands with is_return and gets
                         no purchase event) - Online Retail's cancellations, for any shop
  non_positive_quantity  quantity 0
  non_positive_price     unit price <= 0 (free items, vouchers, refunds written as negative prices)
  duplicate_row          the same text as an earlier row in every column, mapped or not (the first is kept)

Landed values: order and product ids stripped (case kept: "sku-1" and "SKU-1" may be different products);
a blank country is "Unspecified"; channel words are mapped onto landing.CHANNELS (CHANNEL_WORDS; anything
else is "unknown" and counted in the report); the product name is the product_name column, else the
description; customers and products are derived as retail_tables.py does, with the export's category
when one is mapped.

Customer ids: the landing contract (and the raw layer, warehouse and models after it) keys customers by
a positive int64, but real exports often identify them by text (an e-mail, "C-00012"). With
customer_ids="auto" a file whose non-blank ids are all positive whole numbers ("17850", "17850.0") keeps
them as numbers; otherwise every id is mapped to ``hashed_customer_id(text)``: a BLAKE2b hash of the
stripped text (whole numbers first written without ".0") into [10**12, 2**53). A hash, not a numbering
of the sorted ids, because it is *stable*: the same customer gets the same id in every later export and
import, whatever other customers the file holds, so histories and models stay joined; 2**53 keeps ids
exact in JSON / JavaScript, 10**12 keeps them apart from natural numeric ids. Collisions (~1 in 18,000
for a million customers) are resolved deterministically by rehashing the later text in sorted order.
The mapping (customer_id, source_customer_id) is saved as ``_reports/orders_customer_ids.parquet``, so
every landed id can be turned back into the shop's own. customer_ids="numeric" rejects non-numeric ids
as unparseable; "hash" maps numeric ids too (use it when some exports of a shop hold e-mails).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from hashiramart_assets.importers import common
from hashiramart_assets.importers.csv_reading import TextTable, normalise_header, read_table_as_text
from hashiramart_assets.importers.parsing import DECIMAL_MARKS, date_families, parse_dates, parse_numbers, per_distinct

SOURCE = "orders"
CUSTOMER_ID_FILE = "_reports/orders_customer_ids.parquet"
TARGET = common.Target(SOURCE, "orders.parquet", "orders_import.json", extra_files=(CUSTOMER_ID_FILE,))
REQUIRED_FIELDS = ("order_id", "timestamp", "customer_id", "product_id", "quantity", "unit_price")
OPTIONAL_FIELDS = ("category", "country", "channel", "description", "product_name")
FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS
RETURNS = ("quarantine", "land")
CUSTOMER_ID_MODES = ("auto", "numeric", "hash")
OPTION_KEYS = ("date_format", "decimal", "delimiter", "returns", "customer_ids")
REASONS = (common.DUPLICATE_ACROSS_SHEETS, "unparseable_row", "missing_customer", "return", "non_positive_quantity",
           "non_positive_price", "duplicate_row")
INT32_MAX = np.iinfo(np.int32).max
HASHED_ID_MIN, HASHED_ID_END = 10**12, 2**53
WHOLE_NUMBER = re.compile(r"\+?0*(\d+)(?:[.,]0+)?")
# landing.CHANNELS value -> words exports use for it (compared as normalise_header does: "In-Store" = "instore")
CHANNEL_WORDS: dict[str, tuple[str, ...]] = {
    "web": ("web", "online", "website", "webshop", "internet", "ecommerce", "e-commerce", "desktop", "online store"),
    "app": ("app", "mobile", "mobile app", "ios", "android"),
    "store": ("store", "pos", "retail", "in-store", "in store", "shop", "offline", "point of sale"),
    "unknown": ("unknown", ""),
}


@dataclass(frozen=True)
class OrdersMapping:
    """Which column holds which field, and how to read the values (see the module doc)."""

    columns: dict[str, str]
    date_format: str = "auto"
    decimal: str = "."
    delimiter: str | None = None
    returns: str = "quarantine"
    customer_ids: str = "auto"
    source: str = ""  # where the mapping came from (YAML path and/or "--column flags"), for the report
    extra: dict[str, object] = field(default_factory=dict)

    def validate(self) -> OrdersMapping:
        unknown = sorted(set(self.columns) - set(FIELDS))
        if unknown:
            raise ValueError(f"mapping {self.source}: unknown field(s) {unknown}; fields are {list(FIELDS)}")
        missing = [f for f in REQUIRED_FIELDS if not self.columns.get(f)]
        if missing:
            raise ValueError(f"mapping {self.source}: no column given for required field(s) {missing} "
                             f"(required {list(REQUIRED_FIELDS)}, optional {list(OPTIONAL_FIELDS)})")
        date_families(self.date_format)  # raises naming the choices
        for name, value, choices in (("decimal", self.decimal, DECIMAL_MARKS), ("returns", self.returns, RETURNS),
                                     ("customer_ids", self.customer_ids, CUSTOMER_ID_MODES)):
            if value not in choices:
                raise ValueError(f"mapping {self.source}: {name} {value!r} is not one of {list(choices)}")
        return self


def parse_column_flags(items: Iterable[str]) -> dict[str, str]:
    """['order_id=InvoiceNo', 'timestamp=Order Date'] -> {'order_id': 'InvoiceNo', 'timestamp': 'Order Date'}."""
    columns: dict[str, str] = {}
    for item in items:
        key, sep, column = item.partition("=")
        if not sep or not key.strip() or not column.strip():
            raise ValueError(f"--column {item!r} is not FIELD=COLUMN (e.g. --column timestamp='Order Date')")
        columns[key.strip()] = column.strip()
    return columns


def load_mapping_file(path: Path) -> dict[str, Any]:
    """The YAML mapping file as a dict with ``columns`` (field -> column text) and the options it sets."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"mapping {path}: not a readable YAML file ({exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("columns"), dict):
        raise ValueError(f"mapping {path}: expected a YAML mapping with a 'columns:' section (field: column)")
    unknown = sorted(set(data) - {"columns", *OPTION_KEYS})
    if unknown:
        raise ValueError(f"mapping {path}: unknown key(s) {unknown}; keys are ['columns', *{list(OPTION_KEYS)}]")
    data["columns"] = {str(k): str(v) for k, v in data["columns"].items() if v is not None}
    return data


def make_mapping(mapping_file: Path | None = None, column_flags: Iterable[str] = (), **options: str | None
                 ) -> OrdersMapping:
    """The mapping from a YAML file and/or ``--column`` flags and option values (None = not given);
    flags and options given override the file. Raises ValueError naming what is wrong."""
    from_file: dict[str, Any] = load_mapping_file(mapping_file) if mapping_file else {"columns": {}}
    flags = parse_column_flags(column_flags)
    given = {k: v for k, v in options.items() if v is not None}
    unknown = sorted(set(given) - set(OPTION_KEYS))
    if unknown:
        raise ValueError(f"unknown mapping option(s) {unknown}; options are {list(OPTION_KEYS)}")
    # Any: mypy cannot tell that no key is ``extra`` (OPTION_KEYS are OrdersMapping's str fields)
    settings: dict[str, Any] = {k: str(v) for k, v in from_file.items() if k in OPTION_KEYS and v is not None} | given
    source = " + ".join([*([str(mapping_file)] if mapping_file else []), *(["--column flags"] if flags else [])])
    return OrdersMapping(columns=from_file["columns"] | flags, source=source or "(empty)", **settings).validate()


def resolve_columns(frame: pd.DataFrame, mapping: OrdersMapping, path: Path) -> dict[str, str]:
    """field -> the file's header for it: the exact name, else the one header equal ignoring case, spaces
    and "_". Names the file, every mapping key whose column is missing and the columns found."""
    headers = [str(c) for c in frame.columns]
    by_normal: dict[str, list[str]] = {}
    for header in headers:
        by_normal.setdefault(normalise_header(header), []).append(header)
    resolved, missing = {}, []
    for key, column in mapping.columns.items():
        candidates = [column] if column in headers else by_normal.get(normalise_header(column), [])
        if len(candidates) == 1:
            resolved[key] = candidates[0]
        else:
            missing.append(f"{key}: {column!r}" + (f" (matches {candidates})" if candidates else ""))
    if missing:
        raise ValueError(f"{path}: mapped column(s) not found: {'; '.join(missing)} (mapping key: column); "
                         f"found columns {headers}")
    return resolved


def hashed_customer_id(text: str, attempt: int = 0) -> int:
    """The stable int64 id of a customer id text (see the module doc); ``attempt`` > 0 after a collision."""
    salted = text if attempt == 0 else f"{text}\x00{attempt}"
    digest = int.from_bytes(hashlib.blake2b(salted.encode("utf-8"), digest_size=8).digest(), "big")
    return HASHED_ID_MIN + digest % (HASHED_ID_END - HASHED_ID_MIN)


def canonical_customer_text(texts: pd.Series) -> pd.Series:
    """Stripped ids, whole numbers written without sign, leading zeros or ".0" ("017850.0" -> "17850")."""
    def canon(distinct: pd.Series) -> pd.Series:
        stripped = distinct.str.strip()
        whole = stripped.str.extract(f"^{WHOLE_NUMBER.pattern}$", expand=False)
        return whole.where(whole.notna(), stripped)

    return per_distinct(texts, canon).astype("string")


def _whole_number_ids(texts: pd.Series) -> pd.Series:
    """float64 id per row where the text is a positive whole number below 2**53, else NaN."""
    def parse(distinct: pd.Series) -> pd.Series:
        whole = distinct.str.strip().str.extract(f"^{WHOLE_NUMBER.pattern}$", expand=False)
        value = pd.to_numeric(whole, errors="coerce").astype("float64")
        return value.where((value > 0) & (value < HASHED_ID_END))

    return per_distinct(texts, parse).astype("float64")


def assign_customer_ids(given: pd.Series, mode: str) -> tuple[pd.Series, str, str, pd.DataFrame]:
    """(int64-valued ids as float, NaN where unusable; the mode used; why; the id mapping when hashed).

    ``given`` holds the stripped customer id text per row, "" where blank."""
    numeric = _whole_number_ids(given)
    present = given != ""
    non_numeric = given[present & numeric.isna()].unique()
    if mode == "numeric" or (mode == "auto" and len(non_numeric) == 0):
        why = "every id is a positive whole number" if mode == "auto" else "customer_ids=numeric"
        return numeric, "numeric", why, pd.DataFrame()
    why = ("customer_ids=hash" if mode == "hash" else
           f"{len(non_numeric)} distinct id(s) are not positive whole numbers, e.g. {sorted(non_numeric)[:3]}")
    canonical = canonical_customer_text(given)
    ids: dict[str, int] = {}
    used: set[int] = set()
    for text in sorted(canonical[present].unique()):
        attempt = 0
        while (value := hashed_customer_id(text, attempt)) in used:
            attempt += 1
        used.add(value)
        ids[text] = value
    hashed = canonical.map(ids).where(present).astype("float64")
    pairs = pd.DataFrame({"customer_id": hashed[present], "source_customer_id": given[present]})
    return hashed, "hashed", why, pairs


def normalise_channels(text: pd.Series) -> tuple[pd.Series, dict[str, int]]:
    """Channel words onto landing.CHANNELS; unrecognised values (counted per value) become "unknown"."""
    words = {normalise_header(w): channel for channel, spellings in CHANNEL_WORDS.items() for w in spellings}
    channel = per_distinct(text, lambda distinct: distinct.map(normalise_header).map(words))
    unrecognised = text[channel.isna()].str.strip().value_counts()
    return channel.fillna("unknown").astype("string"), {str(k): int(v) for k, v in unrecognised.items()}


def _text(frame: pd.DataFrame, columns: Mapping[str, str], key: str) -> pd.Series:
    if key not in columns:
        return pd.Series("", index=frame.index, dtype="string")
    return frame[columns[key]].fillna("").astype("string")


def _reasons(p: pd.DataFrame, table: TextTable, columns: Mapping[str, str], returns: str
             ) -> tuple[pd.Series, dict[str, str | pd.Series]]:
    """One reason per rejected row (REASONS order), NA for accepted rows; and the file column that fails
    per reason (common.rejection_fields). ``p`` holds the parsed fields of every row."""
    qty, given_customer = p["quantity"], p["customer_text"] != ""
    unparseable = {  # mapping key -> rows whose value does not parse, in the order of the fields
        "order_id": p["invoice"] == "",
        "timestamp": p["ts"].isna(),
        "customer_id": given_customer & p["customer_id"].isna(),
        "product_id": p["product_id"] == "",
        "quantity": qty.isna() | (qty % 1 != 0) | (qty.abs() > INT32_MAX),
        "unit_price": p["unit_price"].isna(),
    }
    rules = {
        common.DUPLICATE_ACROSS_SHEETS: common.duplicate_across_sheets(table),
        "unparseable_row": np.logical_or.reduce([m.fillna(False).to_numpy(dtype=bool) for m in unparseable.values()]),
        "missing_customer": ~given_customer,
        "return": (qty < 0) & (returns == "quarantine"),
        "non_positive_quantity": qty == 0,
        "non_positive_price": p["unit_price"] <= 0,
        "duplicate_row": table.frame.duplicated(keep="first"),
    }
    failing = common.first_reasons(unparseable, tuple(unparseable), p.index).map(columns, na_action="ignore")
    fields = {"unparseable_row": failing.astype("string"), "missing_customer": columns["customer_id"],
              "return": columns["quantity"], "non_positive_quantity": columns["quantity"],
              "non_positive_price": columns["unit_price"]}
    return common.first_reasons(rules, REASONS, p.index), fields


def import_orders(path: Path, landing_dir: Path, mapping: OrdersMapping,
                  progress: Callable[[str], None] | None = None, replace: bool = False) -> common.ImportReport:
    """Land an order-line export under ``landing_dir`` with ``mapping``; see the module doc."""
    path, landing_dir = Path(path).resolve(), Path(landing_dir)
    say = progress or (lambda _message: None)
    mapping = mapping.validate()
    common.check_landing(landing_dir, replace)  # before reading: a refusal should not cost a 1M-row parse
    table = read_table_as_text(path, delimiter=mapping.delimiter)
    columns = resolve_columns(table.frame, mapping, path)
    raw = table.frame
    say(f"read {len(raw):,} rows from {path} ({table.encoding}); mapping {columns}")

    dates = parse_dates(_text(raw, columns, "timestamp"), mapping.date_format)
    customer_text = _text(raw, columns, "customer_id").str.strip()
    customer_id, id_mode, id_why, id_pairs = assign_customer_ids(customer_text, mapping.customer_ids)
    country = _text(raw, columns, "country").str.strip()
    name = _text(raw, columns, "product_name").str.strip()
    parsed = pd.DataFrame({
        "invoice": _text(raw, columns, "order_id").str.strip(), "ts": dates.timestamps,
        "customer_text": customer_text, "customer_id": customer_id,
        "product_id": _text(raw, columns, "product_id").str.strip(),
        "quantity": parse_numbers(_text(raw, columns, "quantity"), mapping.decimal),
        "unit_price": parse_numbers(_text(raw, columns, "unit_price"), mapping.decimal),
        "country": country.mask(country == "", "Unspecified"),
        "description": name.where(name != "", _text(raw, columns, "description").str.strip()),
    })
    reason, fields = _reasons(parsed, table, columns, mapping.returns)
    accepted = reason.isna().to_numpy()
    say(f"accepted {int(accepted.sum()):,} rows, quarantined {int((~accepted).sum()):,} (dates: {dates.family}; "
        f"customer ids: {id_mode})")

    sales = parsed.loc[accepted].drop(columns=["customer_text"])
    sales["is_return"] = (sales["quantity"] < 0).to_numpy(dtype=bool)
    sales["channel"], unrecognised_channels = normalise_channels(_text(raw, columns, "channel").loc[accepted])
    if "category" in columns:
        sales["category"] = _text(raw, columns, "category").loc[accepted].str.strip()
    if id_mode == "hashed":  # the pairs of the landed lines, one row per distinct (id, text)
        id_pairs = id_pairs.loc[id_pairs.index.intersection(sales.index)].drop_duplicates()
        id_pairs = id_pairs.astype({"customer_id": "int64", "source_customer_id": "string"}).sort_values(
            ["customer_id", "source_customer_id"], ignore_index=True)
    details = {
        "mapping": columns, "mapping_source": mapping.source, "decimal": mapping.decimal,
        "returns": mapping.returns, "returns_landed": int(sales["is_return"].sum()),
        "customer_ids": {"mode": id_mode, "why": id_why, "mapped": len(id_pairs),
                         "file": CUSTOMER_ID_FILE if id_mode == "hashed" else None},
        "categories": "from the file's category column" if "category" in columns else "keyword rule (categories.py)",
        "unrecognised_channels": unrecognised_channels,
    }
    extra = {CUSTOMER_ID_FILE: id_pairs} if id_mode == "hashed" else {}
    return common.land_sales(TARGET, path, landing_dir, table, reason, REASONS, sales, dates.timestamps,
                             dates.family, dates.notes, details, extra, progress=say, fields=fields)


def customer_id_map(landing_dir: Path) -> pd.DataFrame:
    """The saved (customer_id, source_customer_id) pairs of the last hashed import; empty if none."""
    path = Path(landing_dir) / CUSTOMER_ID_FILE
    if not path.exists():
        return pd.DataFrame({"customer_id": pd.Series(dtype="int64"), "source_customer_id": pd.Series(dtype="string")})
    return pd.read_parquet(path)


__all__ = ["FIELDS", "REASONS", "OrdersMapping", "customer_id_map", "hashed_customer_id", "import_orders",
           "make_mapping"]
