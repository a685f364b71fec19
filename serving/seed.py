"""First-start data: the product catalogue from the lake (or landing zone), and the bootstrap admin.

Why seed from the lake: the shop's catalogue already exists as raw/products; the API table starts as a
copy the admins then edit through the API. It only seeds an empty table, so edits are never overwritten.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import sqlalchemy
from sqlalchemy.engine import Engine

from hashiramart_assets.settings import Settings
from serving.security import hash_password

log = logging.getLogger("hashiramart.serving.seed")
PRODUCT_COLUMNS = ("product_id", "name", "department", "category", "category_path", "base_price", "launch_date")
ADMIN_USERNAME = "admin"


def catalogue_source(settings: Settings) -> str | None:
    """raw/products on the lake if materialised, else the landing zone's products.parquet, else None."""
    from hashiramart_assets.lake import paths, store

    lake_file = paths.raw_file(settings.lake_uri, "products")
    try:
        if store.exists(lake_file):
            return lake_file
    except Exception:  # an unreachable remote lake: fall back to the landing zone
        log.warning("lake not readable at %s", lake_file)
    landing = Path(settings.landing_dir) / "products.parquet"
    return str(landing) if landing.exists() else None


def seed_products(engine: Engine, settings: Settings) -> int:
    """Insert the catalogue if app.products is empty; return the number of rows inserted."""
    with engine.connect() as conn:
        if conn.execute(sqlalchemy.text("select exists (select 1 from app.products)")).scalar():
            return 0
    source = catalogue_source(settings)
    if source is None:
        log.info("no product catalogue on the lake or in the landing zone: app.products stays empty")
        return 0
    from hashiramart_assets.lake import store

    frame = store.read_parquet(source)
    missing = [c for c in ("product_id", "name", "base_price") if c not in frame.columns]
    if missing:
        log.warning("catalogue %s lacks %s: not seeded", source, missing)
        return 0
    frame = frame.reindex(columns=list(PRODUCT_COLUMNS))
    frame["product_id"] = frame["product_id"].astype(str)
    frame["launch_date"] = pd.to_datetime(frame["launch_date"], errors="coerce").dt.date
    rows = [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]
    with engine.begin() as conn:
        result = conn.execute(
            sqlalchemy.text(
                "insert into app.products (product_id, name, department, category, category_path, base_price, "
                "launch_date) values (:product_id, :name, :department, :category, :category_path, :base_price, "
                ":launch_date) on conflict (product_id) do nothing"
            ),
            rows,
        )
    log.info("seeded %d products from %s", result.rowcount, source)
    return len(rows)


def ensure_admin(engine: Engine, password: str) -> None:
    """Create user 'admin' (role admin) with ``password``, or reset its password and role if it exists."""
    with engine.begin() as conn:
        conn.execute(
            sqlalchemy.text(
                "insert into app.users (username, password_hash, role) values (:u, :h, 'admin') "
                "on conflict (username) do update set password_hash = excluded.password_hash, role = 'admin'"
            ),
            {"u": ADMIN_USERNAME, "h": hash_password(password)},
        )
