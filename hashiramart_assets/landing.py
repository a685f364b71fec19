"""The landing zone: where source-system exports arrive before the raw layer ingests them.

The generator and every importer write exactly this layout, so the raw assets need to know only one
shape of input. Layout under ``Settings.landing_dir``::

    customers.parquet                      one row per customer
    products.parquet                       one row per product
    orders/date=YYYY-MM-DD/part.parquet    order lines of that day (order header denormalised)
    events/date=YYYY-MM-DD/part.parquet    clickstream of that day
    _manifest.json                         {"source", "start_date", "end_date", ...}
    _quarantine/<source>.parquet           rows an importer rejected, with a reason

Timestamps are naive UTC. Product ids are strings (real stock codes look like "85123A").
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

# Column name -> pandas dtype. The raw layer's Pandera schemas (checks/schemas.py) add the rules.
CUSTOMER_COLUMNS: dict[str, str] = {
    "customer_id": "int64",
    "signup_date": "datetime64[ns]",  # midnight of the signup day
    "segment": "string",  # one of SEGMENTS
    "region": "string",
    "country": "string",
}
PRODUCT_COLUMNS: dict[str, str] = {
    "product_id": "string",
    "name": "string",
    "department": "string",  # top of the category tree
    "category": "string",  # leaf of the category tree
    "category_path": "string",  # "Department > Category"
    "base_price": "float64",
    "launch_date": "datetime64[ns]",
}
ORDER_LINE_COLUMNS: dict[str, str] = {
    "order_id": "string",
    "line_no": "int32",
    "order_ts": "datetime64[ns]",
    "customer_id": "int64",
    "product_id": "string",
    "quantity": "int32",  # negative only when is_return
    "unit_price": "float64",  # price paid per unit (after promotion)
    "list_price": "float64",  # catalogue price that day (after price changes, before promotion)
    "promo": "bool",
    "is_return": "bool",
    "channel": "string",  # one of CHANNELS
    "country": "string",
}
EVENT_COLUMNS: dict[str, str] = {
    "event_id": "string",
    "event_ts": "datetime64[ns]",
    "customer_id": "int64",
    "session_id": "string",
    "product_id": "string",
    "event_type": "string",  # one of EVENT_TYPES
    "order_id": "string",  # set on purchase events, else null
}
QUARANTINE_COLUMNS: dict[str, str] = {
    "source_file": "string",
    "source_row": "int64",  # 1-based data row number in the source file (header excluded)
    "reason": "string",
    "raw": "string",  # the original row as JSON, so nothing is lost
}

SEGMENTS = ("consumer", "business", "wholesale", "unknown")
CHANNELS = ("web", "app", "store", "unknown")
EVENT_TYPES = ("view", "add_to_cart", "purchase")

TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "customers": CUSTOMER_COLUMNS,
    "products": PRODUCT_COLUMNS,
    "orders": ORDER_LINE_COLUMNS,
    "events": EVENT_COLUMNS,
}
DAILY_TABLES = ("orders", "events")


def conform(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Return ``df`` with exactly the table's columns, in order, cast to the contract's dtypes."""
    columns = TABLE_COLUMNS[table]
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{table}: missing columns {missing}")
    return df[list(columns)].astype(columns)


def day_path(landing_dir: Path, table: str, day: date | str) -> Path:
    return Path(landing_dir) / table / f"date={day}" / "part.parquet"


def table_path(landing_dir: Path, table: str) -> Path:
    return Path(landing_dir) / f"{table}.parquet"


def write_table(landing_dir: Path, table: str, df: pd.DataFrame) -> Path:
    path = table_path(landing_dir, table)
    path.parent.mkdir(parents=True, exist_ok=True)
    conform(df, table).to_parquet(path, index=False)
    return path


def write_day(landing_dir: Path, table: str, day: date | str, df: pd.DataFrame) -> Path:
    path = day_path(landing_dir, table, day)
    path.parent.mkdir(parents=True, exist_ok=True)
    conform(df, table).to_parquet(path, index=False)
    return path


def landed_days(landing_dir: Path, table: str) -> list[str]:
    """ISO dates that have a landed file for a daily table, sorted."""
    root = Path(landing_dir) / table
    if not root.exists():
        return []
    return sorted(p.name.removeprefix("date=") for p in root.glob("date=*") if p.is_dir())


def landed_stamp(landing_dir: Path, days: list[str]) -> int:
    """Newest modification time (whole seconds) of the dimension files and the given days' files."""
    files = [table_path(landing_dir, t) for t in ("customers", "products")]
    files += [day_path(landing_dir, t, d) for t in DAILY_TABLES for d in days]
    return max((int(f.stat().st_mtime) for f in files if f.exists()), default=0)


def write_manifest(landing_dir: Path, **fields: object) -> Path:
    """Record what landed; merges with an existing manifest and widens its date range."""
    path = Path(landing_dir) / "_manifest.json"
    current: dict[str, object] = json.loads(path.read_text()) if path.exists() else {}
    for key in ("start_date", "end_date"):
        if key in current and key in fields:
            pick = min if key == "start_date" else max
            fields[key] = pick(str(current[key]), str(fields[key]))
    current.update(fields)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2, sort_keys=True, default=str))
    return path


def read_manifest(landing_dir: Path) -> dict[str, Any]:  # parsed JSON
    path = Path(landing_dir) / "_manifest.json"
    return json.loads(path.read_text()) if path.exists() else {}
