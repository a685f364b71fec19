"""The sample-data generator: deterministic, contract-shaped, and carrying the signals the platform needs."""

from __future__ import annotations

from datetime import date, timedelta
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hashiramart_assets import landing
from hashiramart_assets.datagen import GeneratorConfig, generate, taste_clusters

SMALL = GeneratorConfig(events=30_000, start=date(2025, 1, 1), days=30, seed=11)


def _all(land: Path, table: str) -> pd.DataFrame:
    return pd.concat(
        [pd.read_parquet(landing.day_path(land, table, d)) for d in landing.landed_days(land, table)],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    land = tmp_path_factory.mktemp("gen") / "landing"
    generate(SMALL, land)
    return land


@pytest.fixture(scope="module")
def year(tmp_path_factory) -> Path:
    """A full year at small scale, for seasonality and taste."""
    land = tmp_path_factory.mktemp("year") / "landing"
    generate(GeneratorConfig(events=150_000, start=date(2025, 1, 1), days=365, seed=3), land)
    return land


def test_same_seed_same_data_other_seed_other_data(small, tmp_path):
    generate(SMALL, tmp_path / "again")
    for table in ("orders", "events"):
        pd.testing.assert_frame_equal(_all(small, table), _all(tmp_path / "again", table))
    pd.testing.assert_frame_equal(
        pd.read_parquet(landing.table_path(small, "customers")),
        pd.read_parquet(landing.table_path(tmp_path / "again", "customers")),
    )
    generate(GeneratorConfig(events=SMALL.events, start=SMALL.start, days=SMALL.days, seed=12), tmp_path / "other")
    assert not _all(small, "orders").equals(_all(tmp_path / "other", "orders"))


def test_appending_days_at_the_same_rate_keeps_earlier_days(small, tmp_path):
    longer = GeneratorConfig(events=SMALL.events // SMALL.days * (SMALL.days + 5), start=SMALL.start,
                             days=SMALL.days + 5, seed=SMALL.seed)
    generate(longer, tmp_path)
    day = str(SMALL.start + timedelta(days=SMALL.days - 1))
    pd.testing.assert_frame_equal(
        pd.read_parquet(landing.day_path(small, "orders", day)),
        pd.read_parquet(landing.day_path(tmp_path, "orders", day)),
    )
    assert len(landing.landed_days(tmp_path, "orders")) == SMALL.days + 5


def test_tables_follow_the_contract_and_keys_are_unique(small):
    orders, events = _all(small, "orders"), _all(small, "events")
    landing.conform(orders, "orders")
    landing.conform(events, "events")
    customers = landing.conform(pd.read_parquet(landing.table_path(small, "customers")), "customers")
    products = landing.conform(pd.read_parquet(landing.table_path(small, "products")), "products")
    assert not orders.duplicated(["order_id", "line_no"]).any()
    assert events["event_id"].is_unique and customers["customer_id"].is_unique and products["product_id"].is_unique
    assert set(orders["product_id"]) <= set(products["product_id"])
    assert set(orders["customer_id"]) <= set(customers["customer_id"])
    assert set(customers["segment"]) <= {"consumer", "business", "wholesale"}
    assert products["category_path"].eq(products["department"] + " > " + products["category"]).all()
    total = len(events)
    assert abs(total - SMALL.events) < 0.15 * SMALL.events  # the scale knob is honoured
    assert 0.05 < len(orders) / total < 0.15


def test_prices_promotions_and_returns(small):
    orders = _all(small, "orders")
    promo = orders[orders["promo"]]
    assert len(promo) > 0 and (promo["unit_price"] < promo["list_price"]).all()
    regular = orders[~orders["promo"]]
    assert (regular["unit_price"] == regular["list_price"]).all()
    returns = orders[orders["is_return"]]
    assert len(returns) > 0 and (returns["quantity"] < 0).all()
    assert (orders.loc[~orders["is_return"], "quantity"] > 0).all()
    sold = set(zip(orders.loc[~orders["is_return"], "customer_id"], orders.loc[~orders["is_return"], "product_id"],
                   strict=True))
    assert all(pair in sold for pair in zip(returns["customer_id"], returns["product_id"], strict=True))


def test_purchase_events_match_order_lines_per_day(small):
    for day in landing.landed_days(small, "orders")[:10]:
        orders = pd.read_parquet(landing.day_path(small, "orders", day))
        events = pd.read_parquet(landing.day_path(small, "events", day))
        purchases = events[events["event_type"] == "purchase"]
        assert len(purchases) == int((~orders["is_return"]).sum())
        assert purchases["order_id"].notna().all()
        assert (events["event_type"] == "view").sum() > (events["event_type"] == "add_to_cart").sum() > 0


def test_weekly_and_yearly_seasonality(year):
    orders = _all(year, "orders")
    daily = orders.groupby(orders["order_ts"].dt.date).size()
    index = pd.to_datetime(pd.Series(daily.index))
    weekend = daily[(index.dt.weekday >= 5).to_numpy()].mean()
    weekday = daily[(index.dt.weekday < 5).to_numpy()].mean()
    assert weekend > 1.2 * weekday
    december = daily[(index.dt.month == 12).to_numpy()].mean()
    spring = daily[index.dt.month.isin([3, 4]).to_numpy()].mean()
    assert december > 1.15 * spring


def test_customers_of_a_taste_cluster_buy_alike(year):
    """Mean Jaccard overlap of bought categories is higher within a hidden cluster than across clusters."""
    orders = _all(year, "orders")
    products = pd.read_parquet(landing.table_path(year, "products")).set_index("product_id")
    orders["category"] = products.loc[orders["product_id"], "category"].to_numpy()
    baskets = orders.groupby("customer_id")["category"].agg(set)
    baskets = baskets[baskets.map(len) >= 3]
    clusters = taste_clusters(GeneratorConfig(events=150_000, start=date(2025, 1, 1), days=365, seed=3))
    rng = np.random.default_rng(0)
    sample = rng.choice(baskets.index.to_numpy(), size=min(300, len(baskets)), replace=False)
    same, other = [], []
    for a, b in combinations(sample, 2):
        jaccard = len(baskets[a] & baskets[b]) / len(baskets[a] | baskets[b])
        (same if clusters[a] == clusters[b] else other).append(jaccard)
    assert np.mean(same) > 1.5 * np.mean(other)


def test_new_category_and_price_shift_drift(tmp_path):
    drift_day = date(2025, 1, 16)
    cfg = GeneratorConfig(events=30_000, start=date(2025, 1, 1), days=30, seed=11, new_category_from=drift_day,
                          price_shift_from=drift_day, price_shift_factor=1.3)
    generate(cfg, tmp_path)
    orders = _all(tmp_path, "orders")
    products = pd.read_parquet(landing.table_path(tmp_path, "products")).set_index("product_id")
    orders["department"] = products.loc[orders["product_id"], "department"].to_numpy()
    before = orders[orders["order_ts"] < pd.Timestamp(drift_day)]
    after = orders[orders["order_ts"] >= pd.Timestamp(drift_day)]
    assert (before["department"] == "Idol Merch").sum() == 0
    assert (after["department"] == "Idol Merch").mean() > 0.05
    common = set(before["product_id"]) & set(after["product_id"])
    ratio = (after[after["product_id"].isin(common)].groupby("product_id")["list_price"].mean()
             / before[before["product_id"].isin(common)].groupby("product_id")["list_price"].mean())
    assert ratio.median() > 1.2


@pytest.mark.parametrize("corruption", ["empty", "missing_column", "negative_quantity", "duplicate_order_id",
                                        "unknown_product"])
def test_corruption_hits_only_its_day(tmp_path, corruption):
    bad_day = date(2025, 1, 10)
    cfg = GeneratorConfig(events=10_000, start=date(2025, 1, 1), days=12, seed=5, corrupt_day=bad_day,
                          corruption=corruption)
    generate(cfg, tmp_path / "bad")
    generate(GeneratorConfig(events=10_000, start=date(2025, 1, 1), days=12, seed=5), tmp_path / "good")
    bad = pd.read_parquet(landing.day_path(tmp_path / "bad", "orders", bad_day))
    good = pd.read_parquet(landing.day_path(tmp_path / "good", "orders", bad_day))
    checks = {
        "empty": lambda: len(bad) == 0,
        "missing_column": lambda: "quantity" not in bad.columns,
        "negative_quantity": lambda: ((bad["quantity"] < 0) & ~bad["is_return"]).sum() > 0,
        "duplicate_order_id": lambda: bad.duplicated(["order_id", "line_no"]).sum() > 0,
        "unknown_product": lambda: bad["product_id"].str.startswith("XX-").sum() > 0,
    }
    assert checks[corruption]()
    other = str(bad_day - timedelta(days=1))
    pd.testing.assert_frame_equal(pd.read_parquet(landing.day_path(tmp_path / "bad", "orders", other)),
                                  pd.read_parquet(landing.day_path(tmp_path / "good", "orders", other)))
    assert len(good) > 0
