"""The sample-data generator: deterministic, contract-shaped, and carrying the signals later ML needs."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hashiramart_assets import landing
from hashiramart_assets.datagen import CORRUPTIONS, GeneratorConfig, generate, taste_clusters
from hashiramart_assets.datagen.catalogue import TREE

SMALL = GeneratorConfig(events=30_000, start=date(2025, 1, 1), days=30, seed=11)  # 1,000 events a day
YEAR = GeneratorConfig(events=150_000, start=date(2025, 1, 1), days=365, seed=3)


def _all(land: Path, table: str) -> pd.DataFrame:
    return pd.concat(
        [pd.read_parquet(landing.day_path(land, table, d)) for d in landing.landed_days(land, table)],
        ignore_index=True,
    )


def _files(land: Path) -> dict[str, bytes]:
    """Every landed parquet file's bytes, by path relative to the landing dir."""
    return {str(p.relative_to(land)): p.read_bytes() for p in sorted(land.rglob("*.parquet"))}


def _table(land: Path, table: str) -> pd.DataFrame:
    return pd.read_parquet(landing.table_path(land, table))


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    land = tmp_path_factory.mktemp("small") / "landing"
    generate(SMALL, land)
    return land


@pytest.fixture(scope="module")
def year(tmp_path_factory) -> Path:
    """A full year at small scale, for seasonality, taste, repeat buying and returns."""
    land = tmp_path_factory.mktemp("year") / "landing"
    generate(YEAR, land)
    return land


@pytest.fixture(scope="module")
def year_orders(year) -> pd.DataFrame:
    orders = _all(year, "orders")
    products = _table(year, "products").set_index("product_id")
    orders["category"] = products.loc[orders["product_id"], "category"].to_numpy()
    orders["department"] = products.loc[orders["product_id"], "department"].to_numpy()
    return orders


# --- determinism -------------------------------------------------------------------------------


def test_same_config_gives_identical_bytes_and_another_seed_other_data(small, tmp_path):
    generate(SMALL, tmp_path / "again")
    assert _files(small) == _files(tmp_path / "again")
    generate(GeneratorConfig(events=SMALL.events, start=SMALL.start, days=SMALL.days, seed=12), tmp_path / "other")
    assert not _all(small, "orders").equals(_all(tmp_path / "other", "orders"))
    assert not _table(small, "customers").equals(_table(tmp_path / "other", "customers"))


def test_a_range_generated_in_two_calls_equals_one_call(small, tmp_path):
    """Same daily rate, later start: the world and every day file come out byte-identical."""
    generate(GeneratorConfig(events=12_000, start=date(2025, 1, 1), days=12, seed=11), tmp_path)
    generate(GeneratorConfig(events=18_000, start=date(2025, 1, 13), days=18, seed=11), tmp_path)
    assert _files(tmp_path) == _files(small)
    manifest = landing.read_manifest(tmp_path)
    assert (manifest["start_date"], manifest["end_date"]) == ("2025-01-01", "2025-01-30")


def test_dimensions_depend_on_the_rate_not_on_the_range(small, tmp_path):
    generate(GeneratorConfig(events=4_000, start=date(2026, 3, 1), days=4, seed=11), tmp_path)
    assert _files(tmp_path)["customers.parquet"] == _files(small)["customers.parquet"]
    assert _files(tmp_path)["products.parquet"] == _files(small)["products.parquet"]


def test_a_change_of_scale_keeps_existing_customers_and_products(tmp_path):
    """Dimensions are cut from fixed-size draws: a slightly different scale only adds or drops rows."""
    generate(GeneratorConfig(events=20_000, start=date(2025, 1, 1), days=2, seed=7), tmp_path / "a")
    generate(GeneratorConfig(events=20_000, start=date(2025, 1, 1), days=3, seed=7), tmp_path / "b")
    for table in ("customers", "products"):
        larger, smaller = _table(tmp_path / "a", table), _table(tmp_path / "b", table)
        assert len(larger) > len(smaller)
        pd.testing.assert_frame_equal(larger.iloc[: len(smaller)], smaller)


# --- contract and integrity --------------------------------------------------------------------


def test_tables_follow_the_contract_and_keys_are_unique(small):
    orders, events = _all(small, "orders"), _all(small, "events")
    customers, products = _table(small, "customers"), _table(small, "products")
    for df, table in ((orders, "orders"), (events, "events"), (customers, "customers"), (products, "products")):
        assert list(df.columns) == list(landing.TABLE_COLUMNS[table])
        assert {c: str(t) for c, t in df.dtypes.items()} == {
            c: str(t) for c, t in landing.conform(df, table).dtypes.items()
        }
    assert not orders.duplicated(["order_id", "line_no"]).any()
    assert events["event_id"].is_unique and customers["customer_id"].is_unique and products["product_id"].is_unique
    assert products["product_id"].str.fullmatch(r"HM-\d{6}").all()
    assert set(orders["product_id"]) <= set(products["product_id"])
    assert set(events["product_id"]) <= set(products["product_id"])
    assert set(orders["customer_id"]) | set(events["customer_id"]) <= set(customers["customer_id"])
    assert set(customers["segment"]) == {"consumer", "business", "wholesale"}
    assert (customers["segment"] == "consumer").mean() > 0.7
    assert set(orders["channel"]) == {"web", "app", "store"}
    assert products["category_path"].eq(products["department"] + " > " + products["category"]).all()
    country = customers.set_index("customer_id")["country"]
    assert (orders["country"].to_numpy() == country.loc[orders["customer_id"]].to_numpy()).all()
    assert abs(len(events) - SMALL.events) < 0.15 * SMALL.events  # the scale knob is honoured
    assert 0.08 < len(orders) / len(events) < 0.12


def test_orders_have_one_to_five_numbered_lines_within_their_day(small):
    for day in landing.landed_days(small, "orders"):
        orders = pd.read_parquet(landing.day_path(small, "orders", day))
        lines = orders.groupby("order_id")["line_no"].agg(["min", "max", "count"])
        assert (lines["min"] == 1).all() and (lines["max"] == lines["count"]).all()
        assert lines["count"].between(1, 5).all()
        assert (orders["order_ts"].dt.strftime("%Y-%m-%d") == day).all()
        assert orders.groupby("order_id")["order_ts"].nunique().eq(1).all()
        assert not orders.duplicated(["order_id", "product_id"]).any()


def test_customers_buy_only_after_signup_and_some_sign_up_during_the_range(year, year_orders):
    customers = _table(year, "customers").set_index("customer_id")
    signup = customers.loc[year_orders["customer_id"], "signup_date"].to_numpy()
    assert (year_orders["order_ts"].to_numpy() >= signup).all()
    events = _all(year, "events")
    assert (events["event_ts"].to_numpy() >= customers.loc[events["customer_id"], "signup_date"].to_numpy()).all()
    start = pd.Timestamp(YEAR.start)
    assert 0.5 < (customers["signup_date"] < start).mean() < 0.9
    assert year_orders.loc[customers.loc[year_orders["customer_id"], "signup_date"].to_numpy() >= start].size > 0


def test_zero_row_days_still_land_a_file_with_the_schema(tmp_path):
    generate(GeneratorConfig(events=200, start=date(2025, 3, 1), days=40, seed=1), tmp_path / "tiny")
    generate(GeneratorConfig(events=2_000, start=date(2019, 1, 1), days=5, seed=1), tmp_path / "before")
    for land, days in ((tmp_path / "tiny", 40), (tmp_path / "before", 5)):
        for table in landing.DAILY_TABLES:
            assert len(landing.landed_days(land, table)) == days
    empty = [d for d in landing.landed_days(tmp_path / "tiny", "orders")
             if len(pd.read_parquet(landing.day_path(tmp_path / "tiny", "orders", d))) == 0]
    assert empty  # 0.5 lines a day on average
    assert len(_all(tmp_path / "before", "events")) == 0  # nobody had signed up yet
    frame = pd.read_parquet(landing.day_path(tmp_path / "tiny", "orders", empty[0]))
    assert list(frame.columns) == list(landing.ORDER_LINE_COLUMNS)
    assert str(frame["order_ts"].dtype) == "datetime64[ns]" and str(frame["quantity"].dtype) == "int32"


# --- prices, promotions, returns -------------------------------------------------------------


def test_promotions_discount_and_prices_step_over_time(year_orders):
    promo = year_orders[year_orders["promo"]]
    assert 0.02 < len(promo) / len(year_orders) < 0.2
    assert (promo["unit_price"] < promo["list_price"]).all()
    regular = year_orders[~year_orders["promo"]]
    assert (regular["unit_price"] == regular["list_price"]).all()
    prices_per_product = year_orders.groupby("product_id")["list_price"].nunique()
    assert (prices_per_product > 1).mean() > 0.3  # list price changes during the year


def test_returns_are_rare_negative_and_reference_an_earlier_purchase(year_orders):
    returns = year_orders[year_orders["is_return"]]
    sales = year_orders[~year_orders["is_return"]]
    assert 0.005 < len(returns) / len(year_orders) < 0.02
    assert (returns["quantity"] < 0).all() and (sales["quantity"] > 0).all()
    assert returns["order_id"].str.startswith("R-").all()
    # returns after the first RETURN_WINDOW days refer to a purchase inside the generated range
    late = returns[returns["order_ts"] >= pd.Timestamp(YEAR.start + timedelta(days=21))]
    bought = sales.groupby(["customer_id", "product_id"]).agg(first=("order_ts", "min"), units=("quantity", "sum"))
    matched = late.join(bought, on=["customer_id", "product_id"], how="left")
    assert len(late) > 50 and matched["first"].notna().all()
    assert (matched["first"] < matched["order_ts"]).all()
    assert (-matched["quantity"] <= matched["units"]).all()
    by_department = year_orders.groupby("department")["is_return"].mean()
    assert by_department["Apparel"] > by_department["Snacks & Ramen"]


# --- clickstream -------------------------------------------------------------------------------


def test_purchase_events_match_order_lines_day_by_day(small):
    for day in landing.landed_days(small, "orders"):
        orders = pd.read_parquet(landing.day_path(small, "orders", day))
        events = pd.read_parquet(landing.day_path(small, "events", day))
        sold = orders[~orders["is_return"]]
        purchases = events[events["event_type"] == "purchase"]
        assert len(purchases) == len(sold)
        assert sorted(zip(purchases["order_id"], purchases["product_id"], strict=True)) == sorted(
            zip(sold["order_id"], sold["product_id"], strict=True)
        )
        assert events.loc[events["event_type"] != "purchase", "order_id"].isna().all()
        assert (events["event_ts"].dt.strftime("%Y-%m-%d") == day).all()
        assert events["event_ts"].is_monotonic_increasing
        counts = events["event_type"].value_counts()
        assert counts["view"] > counts["add_to_cart"] > counts["purchase"]
        # each purchase follows an add_to_cart of the same product in the same session
        carts = events[events["event_type"] == "add_to_cart"]
        paired = purchases.merge(carts, on=["session_id", "product_id"], suffixes=("", "_cart"))
        assert set(paired["event_id"]) == set(purchases["event_id"])
        assert (paired["event_ts_cart"] <= paired["event_ts"]).groupby(paired["event_id"]).any().all()


def test_sessions_belong_to_one_customer_and_have_several_events(small):
    events = _all(small, "events")
    assert events.groupby("session_id")["customer_id"].nunique().eq(1).all()
    sizes = events.groupby("session_id").size()
    assert 2.5 < sizes.mean() < 8 and sizes.max() > 10


# --- signal for ML -----------------------------------------------------------------------------


def test_weekly_and_yearly_seasonality(year_orders):
    daily = year_orders.groupby(year_orders["order_ts"].dt.normalize()).size()
    weekend = daily[daily.index.weekday >= 5].mean()
    weekday = daily[daily.index.weekday < 5].mean()
    assert weekend > 1.2 * weekday
    monthly = daily.groupby(daily.index.month).mean()
    assert monthly.idxmax() == 12 and monthly[12] > 1.2 * monthly.drop(12).mean()
    assert monthly[7] > monthly[[3, 4, 10]].mean()  # summer bump


def _mean_jaccard(baskets: pd.Series, clusters: pd.Series) -> tuple[float, float]:
    """Mean Jaccard overlap of item sets for customer pairs in the same vs different hidden clusters."""
    items = sorted(set().union(*baskets))
    column = {item: i for i, item in enumerate(items)}
    matrix = np.zeros((len(baskets), len(items)))
    for row, basket in enumerate(baskets):
        matrix[row, [column[i] for i in basket]] = 1
    inter = matrix @ matrix.T
    sizes = matrix.sum(axis=1)
    jaccard = inter / (sizes[:, None] + sizes[None, :] - inter)
    label = clusters.loc[baskets.index].to_numpy()
    same = label[:, None] == label[None, :]
    off_diagonal = ~np.eye(len(baskets), dtype=bool)
    return float(jaccard[same & off_diagonal].mean()), float(jaccard[~same].mean())


@pytest.mark.parametrize("level", ["product_id", "category"])
def test_customers_of_a_taste_cluster_buy_alike(year_orders, level):
    sales = year_orders[~year_orders["is_return"]]
    baskets = sales.groupby("customer_id")[level].agg(set)
    baskets = baskets[baskets.map(len) >= 3]
    clusters = taste_clusters(YEAR)
    within, across = _mean_jaccard(baskets, clusters)
    assert len(baskets) > 200
    assert within > {"product_id": 1.8, "category": 1.4}[level] * across


def test_taste_clusters_are_hidden_ground_truth(year):
    clusters = taste_clusters(YEAR)
    customers = _table(year, "customers")
    assert clusters.index.equals(pd.Index(customers["customer_id"], name="customer_id"))
    assert clusters.nunique() >= 5
    for table in ("customers", "products"):
        assert "cluster" not in " ".join(_table(year, table).columns)


def test_customers_rebuy_consumables_most(year_orders):
    sales = year_orders[~year_orders["is_return"]].sort_values("order_ts", kind="stable")
    repeat = sales.duplicated(["customer_id", "product_id"])  # bought by that customer before
    consumable = sales["category"].isin({c[0] for cats in TREE.values() for c in cats if c[2]})
    assert repeat.mean() > 0.2
    assert repeat[consumable].mean() > 1.2 * repeat[~consumable].mean()


# --- drift -------------------------------------------------------------------------------------


def test_new_category_launches_with_real_demand_and_prices_shift(small, tmp_path):
    drift_day = date(2025, 1, 16)
    cfg = GeneratorConfig(events=SMALL.events, start=SMALL.start, days=SMALL.days, seed=SMALL.seed,
                          new_category_from=drift_day, price_shift_from=drift_day, price_shift_factor=1.3)
    generate(cfg, tmp_path)
    products = _table(tmp_path, "products").set_index("product_id")
    new = products[products["department"] == "Idol Merch"]
    assert len(new) >= 6 and (new["launch_date"] == pd.Timestamp(drift_day)).all()
    assert new["category_path"].str.startswith("Idol Merch > ").all()
    # the regular catalogue is untouched by the option
    pd.testing.assert_frame_equal(products.drop(new.index).reset_index(), _table(small, "products"))
    orders, events = _all(tmp_path, "orders"), _all(tmp_path, "events")
    for frame, ts in ((orders, "order_ts"), (events, "event_ts")):
        is_new = frame["product_id"].isin(new.index)
        assert not is_new[frame[ts] < pd.Timestamp(drift_day)].any()
        assert is_new[frame[ts] >= pd.Timestamp(drift_day)].mean() > 0.05
    # days before the drift are exactly the undrifted data
    before = str(drift_day - timedelta(days=1))
    for table in landing.DAILY_TABLES:
        assert landing.day_path(tmp_path, table, before).read_bytes() == landing.day_path(
            small, table, before).read_bytes()
    after = pd.Timestamp(drift_day)
    mean_before = orders[orders["order_ts"] < after].groupby("product_id")["list_price"].mean()
    mean_after = orders[orders["order_ts"] >= after].groupby("product_id")["list_price"].mean()
    ratio = (mean_after / mean_before).dropna()
    assert len(ratio) > 20 and ratio.median() == pytest.approx(1.3, abs=0.03)
    assert orders.loc[orders["order_ts"] >= after, "list_price"].mean() > orders.loc[
        orders["order_ts"] < after, "list_price"].mean()


# --- bad input ---------------------------------------------------------------------------------


BAD_DAY = date(2025, 1, 10)


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_corruption_hits_its_day_only(small, tmp_path, corruption):
    # the first 12 days of SMALL (same daily rate, so otherwise byte-identical to it)
    cfg = GeneratorConfig(events=12_000, start=SMALL.start, days=12, seed=SMALL.seed, corrupt_day=BAD_DAY,
                          corruption=corruption)
    summary = generate(cfg, tmp_path)
    assert any(corruption in note for note in summary.notes)
    good_files, bad_files = _files(small), _files(tmp_path)
    changed = {path for path in bad_files if good_files[path] != bad_files[path]}
    bad_orders = pd.read_parquet(landing.day_path(tmp_path, "orders", BAD_DAY))
    bad_events = pd.read_parquet(landing.day_path(tmp_path, "events", BAD_DAY))
    good_orders = pd.read_parquet(landing.day_path(small, "orders", BAD_DAY))
    known = set(_table(small, "products")["product_id"])
    orders_file = f"orders/date={BAD_DAY}/part.parquet"
    events_file = f"events/date={BAD_DAY}/part.parquet"
    if corruption == "empty":
        assert len(bad_orders) == 0 and len(bad_events) == 0
        assert list(bad_orders.columns) == list(landing.ORDER_LINE_COLUMNS)
        assert changed == {orders_file, events_file}
    elif corruption == "missing_column":
        assert list(bad_orders.columns) == [c for c in landing.ORDER_LINE_COLUMNS if c != "quantity"]
        assert len(bad_orders) == len(good_orders)
        assert changed == {orders_file}
    elif corruption == "negative_quantity":
        assert ((bad_orders["quantity"] < 0) & ~bad_orders["is_return"]).sum() > 0
        assert changed == {orders_file}
    elif corruption == "duplicate_order_id":
        assert bad_orders.duplicated(["order_id", "line_no"]).sum() > 0
        assert bad_orders.drop_duplicates().reset_index(drop=True).equals(good_orders)
        assert changed == {orders_file}
    elif corruption == "unknown_product":
        assert (~bad_orders["product_id"].isin(known)).sum() > 0
        assert (~bad_events["product_id"].isin(known)).sum() > 0
        assert changed == {orders_file, events_file}
    assert json.loads((tmp_path / "_manifest.json").read_text())["corruption"] == corruption


# --- API details -------------------------------------------------------------------------------


def test_summary_manifest_and_progress(tmp_path):
    messages: list[str] = []
    cfg = GeneratorConfig(events=6_100, start=date(2025, 2, 1), days=61, seed=2, price_shift_from=date(2025, 3, 1))
    summary = generate(cfg, tmp_path, progress=messages.append)
    assert len(messages) == 3 and "30/61" in messages[0] and "61/61" in messages[-1]
    assert summary.days == 61 and summary.first_day == "2025-02-01" and summary.last_day == "2025-04-02"
    assert summary.events == len(_all(tmp_path, "events"))
    assert summary.order_lines == len(_all(tmp_path, "orders"))
    assert summary.customers == len(_table(tmp_path, "customers")) >= 50
    assert summary.products == len(_table(tmp_path, "products")) >= 60
    assert Path(summary.paths["products"]).exists() and Path(summary.paths["manifest"]).exists()
    manifest = landing.read_manifest(tmp_path)
    assert manifest["source"] == "generator" and manifest["seed"] == 2 and manifest["events"] == 6_100
    assert (manifest["start_date"], manifest["end_date"]) == ("2025-02-01", "2025-04-02")
    assert manifest["price_shift_from"] == "2025-03-01" and manifest["price_shift_factor"] == 1.25
    assert manifest["new_category_from"] is None and manifest["corruption"] is None


def test_scale_sets_customers_and_products():
    assert GeneratorConfig(events=10_000_000).n_customers == 50_000
    assert GeneratorConfig(events=10_000_000).n_products == 5_000
    assert GeneratorConfig(events=1_000_000).n_products == 500
    assert GeneratorConfig(events=2_000).n_customers == 50 and GeneratorConfig(events=2_000).n_products == 60


@pytest.mark.parametrize(
    "kwargs",
    [{"corruption": "bogus"}, {"corrupt_day": date(2026, 1, 1)}, {"events": 10}, {"days": 0}, {"seed": -1},
     {"price_shift_factor": 0}],
)
def test_invalid_configs_are_refused(kwargs):
    with pytest.raises(ValueError):
        GeneratorConfig(**kwargs)
