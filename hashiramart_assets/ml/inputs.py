"""Reading the models' training inputs: lake tables (pandas) and the daily_sales mart (Postgres)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pandas as pd
import sqlalchemy

from hashiramart_assets.lake import paths, store
from hashiramart_assets.ml.train_recommender import RecommenderInputs

DAILY_SALES_COLUMNS = ("date, grain, item_id, category, department, units, return_units, revenue, orders, promo, "
                       "promo_share, avg_price, list_price, is_open")


def _read_table(uri: str, what: str, columns: list[str] | None = None) -> pd.DataFrame:
    if not store.exists(uri):
        raise FileNotFoundError(f"{what} has nothing on the lake at {uri}: materialise it first")
    return store.read_parquet(uri, columns=columns)


def read_recommender_inputs(lake_root: str) -> RecommenderInputs:
    """features/interactions plus raw orders, events, customers and products from the lake."""
    return RecommenderInputs(
        interactions=_read_table(paths.feature_dir(lake_root, "interactions"), "features/interactions"),
        orders=_read_table(paths.raw_table(lake_root, "orders"), "raw/orders",
                           ["order_id", "order_ts", "customer_id", "product_id", "quantity", "is_return"]),
        events=_read_table(paths.raw_table(lake_root, "events"), "raw/events",
                           ["event_ts", "customer_id", "product_id", "event_type"]),
        customers=_read_table(paths.raw_file(lake_root, "customers"), "raw/customers", ["customer_id", "segment"]),
        products=_read_table(paths.raw_file(lake_root, "products"), "raw/products",
                             ["product_id", "category", "department"]),
    )


@contextlib.contextmanager
def warehouse_connection(warehouse: sqlalchemy.Engine | str) -> Iterator[sqlalchemy.Connection]:
    """A connection from the resource's engine; a URL (scripts, benchmarks) gets a one-off engine."""
    if isinstance(warehouse, sqlalchemy.Engine):
        with warehouse.connect() as conn:
            yield conn
        return
    engine = sqlalchemy.create_engine(warehouse)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def read_daily_sales(warehouse: sqlalchemy.Engine | str, grains: list[str]) -> pd.DataFrame:
    """marts.daily_sales for the given grains ('product', 'category'), oldest first."""
    with warehouse_connection(warehouse) as conn:
        frame = pd.read_sql(
            sqlalchemy.text(f"select {DAILY_SALES_COLUMNS} from marts.daily_sales "
                            "where grain = any(:grains) order by date, grain, item_id"),
            conn, params={"grains": list(grains)},
        )
    frame["date"] = pd.to_datetime(frame["date"])
    return frame
