"""Pandera schemas for the tables between layers.

Each raw table has three schemas, one per asset check, so a failure says which rule family broke:
``rules`` (types, ranges, allowed values), ``keys`` (uniqueness) and ``references`` (ids that must
exist in a dimension). Row-level failures are quarantined by the raw layer; feature schemas only
block, because features are derived and fixing them means fixing their input.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pandera.pandas as pa

from hashiramart_assets.landing import CHANNELS, EVENT_TYPES, SEGMENTS


def _within_day(day: str, column: str) -> pa.Check:
    start = pd.Timestamp(date.fromisoformat(day))
    end = start + timedelta(days=1)
    return pa.Check(lambda s: (s >= start) & (s < end), name=f"{column}_within_{day}")


def customers_rules() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "customer_id": pa.Column("int64", pa.Check.gt(0), nullable=False),
            "signup_date": pa.Column("datetime64[ns]", nullable=False),
            "segment": pa.Column("string", pa.Check.isin(SEGMENTS), nullable=False),
            "region": pa.Column("string", nullable=False),
            "country": pa.Column("string", nullable=False),
        },
        strict=False,
        name="raw/customers rules",
    )


def products_rules() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "product_id": pa.Column("string", pa.Check.str_length(min_value=1), nullable=False),
            "name": pa.Column("string", nullable=False),
            "department": pa.Column("string", pa.Check.str_length(min_value=1), nullable=False),
            "category": pa.Column("string", pa.Check.str_length(min_value=1), nullable=False),
            "category_path": pa.Column("string", nullable=False),
            "base_price": pa.Column("float64", pa.Check.gt(0), nullable=False),
            "launch_date": pa.Column("datetime64[ns]", nullable=False),
        },
        name="raw/products rules",
    )


def single_key(table: str, column: str) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {column: pa.Column(unique=True, report_duplicates="exclude_first")}, name=f"raw/{table} keys"
    )


def orders_rules(day: str) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "order_id": pa.Column("string", pa.Check.str_length(min_value=1), nullable=False),
            "line_no": pa.Column("int32", pa.Check.ge(1), nullable=False),
            "order_ts": pa.Column("datetime64[ns]", _within_day(day, "order_ts"), nullable=False),
            "customer_id": pa.Column("int64", pa.Check.gt(0), nullable=False),
            "product_id": pa.Column("string", pa.Check.str_length(min_value=1), nullable=False),
            "quantity": pa.Column("int32", pa.Check.ne(0), nullable=False),
            "unit_price": pa.Column("float64", pa.Check.gt(0), nullable=False),
            "list_price": pa.Column("float64", pa.Check.gt(0), nullable=False),
            "promo": pa.Column("bool", nullable=False),
            "is_return": pa.Column("bool", nullable=False),
            "channel": pa.Column("string", pa.Check.isin(CHANNELS), nullable=False),
            "country": pa.Column("string", nullable=False),
        },
        checks=[
            pa.Check(
                lambda df: (df["quantity"] > 0) | (df["is_return"] & (df["quantity"] < 0)),
                name="negative_quantity_only_on_returns",
            )
        ],
        name=f"raw/orders rules for {day}",
    )


def orders_keys() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        unique=["order_id", "line_no"], report_duplicates="exclude_first", name="raw/orders keys"
    )


def events_rules(day: str) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "event_id": pa.Column("string", pa.Check.str_length(min_value=1), nullable=False),
            "event_ts": pa.Column("datetime64[ns]", _within_day(day, "event_ts"), nullable=False),
            "customer_id": pa.Column("int64", pa.Check.gt(0), nullable=False),
            "session_id": pa.Column("string", nullable=False),
            "product_id": pa.Column("string", pa.Check.str_length(min_value=1), nullable=False),
            "event_type": pa.Column("string", pa.Check.isin(EVENT_TYPES), nullable=False),
            "order_id": pa.Column("string", nullable=True),
        },
        checks=[
            pa.Check(
                lambda df: (df["event_type"] != "purchase") | df["order_id"].notna(),
                name="purchase_has_order_id",
            )
        ],
        name=f"raw/events rules for {day}",
    )


def references(table: str, known: dict[str, set]) -> pa.DataFrameSchema:
    """Ids that must exist in a dimension (e.g. product_id in raw/products)."""
    return pa.DataFrameSchema(
        {
            column: pa.Column(checks=pa.Check(lambda s, ids=ids: s.isin(ids), name=f"known_{column}"))
            for column, ids in known.items()
        },
        name=f"raw/{table} references",
    )


# ----- features (validated after Spark writes them; blocking, never quarantined) -----

def interactions_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "customer_id": pa.Column("int64", pa.Check.gt(0), nullable=False),
            "product_id": pa.Column("string", nullable=False),
            "weight": pa.Column("float64", [pa.Check.gt(0), pa.Check.lt(float("inf"))], nullable=False),
            "views": pa.Column("int64", pa.Check.ge(0)),
            "carts": pa.Column("int64", pa.Check.ge(0)),
            "purchases": pa.Column("int64", pa.Check.ge(0)),
            "last_interaction_ts": pa.Column("datetime64[ns]", nullable=False),
        },
        unique=["customer_id", "product_id"],
        name="features/interactions",
        coerce=True,
    )


def customer_rfm_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "customer_id": pa.Column("int64", pa.Check.gt(0), unique=True, nullable=False),
            "recency_days": pa.Column("Int64", pa.Check.ge(0), nullable=True),
            "frequency": pa.Column("int64", pa.Check.ge(0), nullable=False),
            "monetary": pa.Column("float64", pa.Check.ge(0), nullable=False),
            "tenure_days": pa.Column("int64", pa.Check.ge(0), nullable=False),
            "segment": pa.Column("string", pa.Check.isin(SEGMENTS), nullable=False),
            "rfm_score": pa.Column("Int64", pa.Check.in_range(3, 15), nullable=True),
        },
        name="features/customer_rfm",
        coerce=True,
    )


def daily_sales_schema() -> pa.DataFrameSchema:
    return pa.DataFrameSchema(
        {
            "date": pa.Column("datetime64[ns]", nullable=False),
            "product_id": pa.Column("string", nullable=False),
            "category": pa.Column("string", nullable=False),
            "department": pa.Column("string", nullable=False),
            "units": pa.Column("int64", pa.Check.ge(0), nullable=False),
            "return_units": pa.Column("int64", pa.Check.ge(0), nullable=False),
            "revenue": pa.Column("float64", pa.Check.ge(0), nullable=False),
            "orders": pa.Column("int64", pa.Check.ge(0), nullable=False),
            "promo_share": pa.Column("float64", pa.Check.in_range(0, 1), nullable=False),
            "avg_price": pa.Column("float64", pa.Check.gt(0), nullable=True),
            "list_price": pa.Column("float64", pa.Check.gt(0), nullable=True),
            "day_of_week": pa.Column("int32", pa.Check.in_range(1, 7), nullable=False),
            "month": pa.Column("int32", pa.Check.in_range(1, 12), nullable=False),
            "is_weekend": pa.Column("bool", nullable=False),
        },
        unique=["date", "product_id"],
        name="features/daily_sales",
        coerce=True,
    )
