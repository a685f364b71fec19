"""Spark feature builders on a tiny hand-made lake, with expected values computed by hand."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from hashiramart_assets import landing
from hashiramart_assets.checks import schemas
from hashiramart_assets.checks.validation import run_schema
from hashiramart_assets.ingest import raw_tables
from hashiramart_assets.lake import paths
from hashiramart_assets.spark import features as F

D1, D2 = "2025-03-01", "2025-03-31"  # 30 days apart: with a 30-day half-life, D1 counts half


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> str:
    base: Path = tmp_path_factory.mktemp("features")
    land, root = base / "landing", str(base / "lake")
    landing.write_table(land, "customers", pd.DataFrame({
        "customer_id": [1, 2, 3], "signup_date": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-30"]),
        "segment": ["consumer", "business", "consumer"], "region": ["kanto"] * 3, "country": ["JP"] * 3,
    }))
    landing.write_table(land, "products", pd.DataFrame({
        "product_id": ["P1", "P2"], "name": ["Tea", "Manga"], "department": ["Tea & Kitchen", "Manga"],
        "category": ["Green Tea", "Shonen"], "category_path": ["Tea & Kitchen > Green Tea", "Manga > Shonen"],
        "base_price": [10.0, 8.0], "launch_date": pd.to_datetime(["2024-01-01"] * 2),
    }))
    line = dict(list_price=10.0, promo=False, is_return=False, channel="web", country="JP")
    orders = {
        D1: [dict(order_id="A", line_no=1, order_ts=f"{D1} 10:00", customer_id=1, product_id="P1",
                  quantity=2, unit_price=10.0, **line)],
        D2: [dict(order_id="B", line_no=1, order_ts=f"{D2} 09:00", customer_id=1, product_id="P1",
                  quantity=1, unit_price=8.0, **{**line, "promo": True}),
             dict(order_id="B", line_no=2, order_ts=f"{D2} 09:00", customer_id=1, product_id="P2",
                  quantity=3, unit_price=10.0, **line),
             dict(order_id="C", line_no=1, order_ts=f"{D2} 18:00", customer_id=2, product_id="P1",
                  quantity=-1, unit_price=10.0, **{**line, "is_return": True})],
    }
    events = {
        D1: [dict(event_id="e1", event_ts=f"{D1} 09:00", customer_id=2, product_id="P2", event_type="view")],
        D2: [dict(event_id="e2", event_ts=f"{D2} 08:00", customer_id=2, product_id="P2", event_type="view"),
             dict(event_id="e3", event_ts=f"{D2} 08:05", customer_id=2, product_id="P2",
                  event_type="add_to_cart")],
    }
    raw_tables.ingest_dimension(land, root, "customers")
    raw_tables.ingest_dimension(land, root, "products")
    known = raw_tables.known_ids(root)
    for day in (D1, D2):
        o = pd.DataFrame(orders[day]).assign(order_ts=lambda d: pd.to_datetime(d["order_ts"]))
        e = pd.DataFrame(events[day]).assign(event_ts=lambda d: pd.to_datetime(d["event_ts"]),
                                             session_id="s", order_id=None)
        landing.write_day(land, "orders", day, o)
        landing.write_day(land, "events", day, e)
        for table in ("orders", "events"):
            outcome = raw_tables.ingest_day(land, root, table, day, known)
            assert outcome.quarantined_rows == 0, outcome.reasons
    return root


def _frames(spark, root: str):
    read = lambda t: F.read_raw(spark, paths.raw_table(root, t))  # noqa: E731
    return read("orders"), read("events"), read("customers"), read("products")


def test_interactions_weights_decay_and_exclude_returns(spark, lake):
    orders, events, _, _ = _frames(spark, lake)
    as_of = F.as_of_date(orders, events)
    assert str(as_of) == D2
    weights = F.InteractionWeights(view=1.0, add_to_cart=3.0, purchase=5.0, half_life_days=30.0)
    got = F.build_interactions(orders, events, as_of, weights).toPandas().set_index(["customer_id", "product_id"])
    # customer 1 / P1: 2 units 30 days ago (half weight) + 1 unit today; the return is ignored.
    assert got.loc[(1, "P1"), "weight"] == pytest.approx(0.5 * 5 * math.log1p(2) + 5 * math.log1p(1))
    assert got.loc[(1, "P1"), "purchases"] == 3
    # customer 2 / P2: one view 30 days ago (0.5) + view today (1) + cart today (3).
    assert got.loc[(2, "P2"), "weight"] == pytest.approx(4.5)
    assert (got.loc[(2, "P2"), "views"], got.loc[(2, "P2"), "carts"]) == (2, 1)
    assert (2, "P1") not in got.index  # customer 2 only returned P1
    assert run_schema(schemas.interactions_schema(), got.reset_index(), "rules").passed


def test_customer_rfm(spark, lake):
    orders, events, customers, _ = _frames(spark, lake)
    rfm = F.build_customer_rfm(customers, orders, F.as_of_date(orders, events)).toPandas().set_index("customer_id")
    assert rfm.loc[1, "frequency"] == 2 and rfm.loc[1, "recency_days"] == 0
    assert rfm.loc[1, "monetary"] == pytest.approx(2 * 10 + 8 + 3 * 10)
    assert rfm.loc[1, "tenure_days"] == 89  # 2025-01-01 -> 2025-03-31
    assert rfm.loc[2, "frequency"] == 0 and pd.isna(rfm.loc[2, "recency_days"])  # a return is not a purchase
    # a lone buyer lands in quintile 1 of R, F and M (ntile of one row), non-buyers get no score
    assert pd.isna(rfm.loc[2, "rfm_score"]) and rfm.loc[1, "rfm_score"] == 3
    assert rfm.loc[3, "tenure_days"] == 1
    assert run_schema(schemas.customer_rfm_schema(), rfm.reset_index(), "rules").passed


def test_daily_sales(spark, lake):
    orders, _, _, products = _frames(spark, lake)
    sales = F.build_daily_sales(orders, products).toPandas()
    sales["date"] = sales["date"].astype(str).str[:10]
    row = sales.set_index(["date", "product_id"]).loc[(D2, "P1")]
    assert (row["units"], row["return_units"], row["orders"]) == (1, 1, 1)
    assert row["revenue"] == pytest.approx(8.0) and row["promo_share"] == 1.0
    assert row["category"] == "Green Tea" and row["day_of_week"] == 2  # Monday (Spark: Sunday=1)
    assert not row["is_weekend"]
    first = sales.set_index(["date", "product_id"]).loc[(D1, "P1")]
    assert first["is_weekend"] and first["avg_price"] == pytest.approx(10.0)  # 2025-03-01 is a Saturday
    assert run_schema(schemas.daily_sales_schema(), sales.assign(date=pd.to_datetime(sales["date"])),
                      "rules").passed
