"""Raw + features materialised for real through Dagster: generated data, Spark local, a real instance.

One module-scoped platform (tiny generated data, 40 days) is shared; tests run in file order and each
leaves the lake consistent for the next.
"""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg
import pandas as pd
import psycopg2
import pytest
import sqlalchemy

from hashiramart_assets import landing
from hashiramart_assets.datagen import GeneratorConfig, generate
from hashiramart_assets.definitions import build_definitions
from hashiramart_assets.lake import paths, store
from hashiramart_assets.pipeline import materialize_everything_landed
from hashiramart_assets.runner import get_instance, materialize
from hashiramart_assets.services.postgres import postgres_url
from hashiramart_assets.settings import load_settings

START = date(2025, 1, 1)
DAYS = 40
BASE = GeneratorConfig(events=20_000, start=START, days=DAYS, seed=7)
LAST = str(START + timedelta(days=DAYS - 1))
CORRUPT_DAY = str(START + timedelta(days=DAYS - 2))


@pytest.fixture(scope="module")
def platform(platform_home):
    settings = load_settings()
    generate(BASE, settings.landing_dir)
    settings = load_settings()
    return settings, build_definitions(settings), get_instance(settings)


def _latest(instance: dg.DagsterInstance, key: str, partition: str | None = None):
    asset_key = dg.AssetKey(key.split("/"))
    if partition is None:
        return instance.get_latest_materialization_event(asset_key).asset_materialization
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition]), limit=1
    ).records
    return records[0].asset_materialization if records else None


def _check_evaluations(instance: dg.DagsterInstance, run_id: str) -> dict[str, object]:
    records = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return {
        f"{r.dagster_event.event_specific_data.asset_key.to_user_string()}:"
        f"{r.dagster_event.event_specific_data.check_name}": r.dagster_event.event_specific_data
        for r in records
    }


def test_everything_materialises_with_checks_passing(platform):
    settings, _, instance = platform
    assert settings.partitions_start == str(START)  # taken from the landing manifest
    assert materialize_everything_landed(settings, print)
    for table in ("orders", "events"):
        landed = sum(len(pd.read_parquet(landing.day_path(settings.landing_dir, table, d)))
                     for d in landing.landed_days(settings.landing_dir, table))
        raw_days = store.list_partition_days(paths.raw_table(settings.lake_uri, table))
        assert raw_days == landing.landed_days(settings.landing_dir, table)
        raw_rows = sum(store.row_count(paths.raw_day_file(settings.lake_uri, table, d)) for d in raw_days)
        assert raw_rows == landed > 0
        event = _latest(instance, f"raw/{table}", LAST)
        assert event.metadata["quarantined_rows"].value == 0
        assert "lake_location" in event.metadata and event.metadata["data_version"].value
    for name in ("interactions", "customer_rfm", "daily_sales"):
        meta = _latest(instance, f"features/{name}").metadata
        assert meta["dagster/row_count"].value > 0
        assert store.exists(paths.feature_dir(settings.lake_uri, name))
    rfm = store.read_parquet(paths.feature_dir(settings.lake_uri, "customer_rfm"))
    customers = pd.read_parquet(landing.table_path(settings.landing_dir, "customers"))
    assert set(rfm["customer_id"]) == set(customers["customer_id"])
    sales = store.read_parquet(paths.feature_dir(settings.lake_uri, "daily_sales"))
    orders = pd.concat(pd.read_parquet(landing.day_path(settings.landing_dir, "orders", d))
                       for d in landing.landed_days(settings.landing_dir, "orders"))
    sold = orders[~orders["is_return"]]
    assert sales["units"].sum() == sold["quantity"].sum()
    assert sales["revenue"].sum() == pytest.approx((sold["quantity"] * sold["unit_price"]).sum(), rel=1e-6)


def _sql(platform, query: str, params: dict | None = None) -> list[tuple]:
    engine = sqlalchemy.create_engine(postgres_url(platform[0]))
    try:
        with engine.begin() as conn:
            result = conn.execute(sqlalchemy.text(query), params or {})
            return list(result) if result.returns_rows else []
    finally:
        engine.dispose()


def _landed_lines(settings) -> pd.DataFrame:
    return pd.concat(pd.read_parquet(landing.day_path(settings.landing_dir, "orders", d))
                     for d in landing.landed_days(settings.landing_dir, "orders"))


def test_marts_reconcile_with_the_landed_data(platform):
    settings = platform[0]
    lines = _landed_lines(settings)
    sold = lines[~lines["is_return"]]
    revenue = _sql(platform, "select sum(revenue) from marts.daily_sales where grain = 'product'")[0][0]
    assert float(revenue) == pytest.approx(float((sold["quantity"] * sold["unit_price"]).sum()), abs=0.05)
    by_category = _sql(platform, "select sum(revenue) from marts.daily_sales where grain = 'category'")[0][0]
    assert float(by_category) == pytest.approx(float(revenue), abs=0.05)
    assert _sql(platform, "select count(*) from marts.fct_orders")[0][0] == lines["order_id"].nunique()
    assert _sql(platform, "select count(*) from marts.fct_order_lines")[0][0] == len(lines)
    customers = pd.read_parquet(landing.table_path(settings.landing_dir, "customers"))
    assert _sql(platform, "select count(*) from marts.dim_customers")[0][0] == len(customers)
    top, buyers = _sql(platform, "select product_id, buyers from marts.product_popularity where popularity_rank = 1")[0]
    landed_buyers = sold.groupby("product_id")["customer_id"].nunique()
    assert buyers == landed_buyers.max() == landed_buyers[top]


def test_rerunning_one_day_rebuilds_only_that_day(platform):
    settings, defs, instance = platform
    day = str(START + timedelta(days=10))
    before = dict(_sql(platform, "select date::text, array_agg(distinct xmin::text order by xmin::text)::text "
                                 "from marts.fct_order_lines group by date"))
    run = materialize(defs, instance, "group:warehouse or group:staging or group:marts", partition_range=(day, day))
    assert run.success and not run.failed_checks
    after = dict(_sql(platform, "select date::text, array_agg(distinct xmin::text order by xmin::text)::text "
                                "from marts.fct_order_lines group by date"))
    assert before.keys() == after.keys()
    changed = {d for d in before if before[d] != after[d]}
    assert changed == {day}  # rows of every other day were not rewritten
    counts = dict(_sql(platform, "select date::text, count(*) from marts.fct_order_lines group by date"))
    assert counts[day] == len(pd.read_parquet(landing.day_path(settings.landing_dir, "orders", day)))


def test_a_broken_row_fails_the_right_dbt_test_and_blocks_downstream(platform):
    _, defs, instance = platform
    day = str(START + timedelta(days=12))
    _sql(platform, "insert into raw.orders (order_id, line_no, order_ts, customer_id, product_id, quantity, "
                   "unit_price, list_price, promo, is_return, channel, country) values "
                   "('BROKEN-1', 1, :ts, 1, 'NO-SUCH-PRODUCT', 1, 1.0, 1.0, false, false, 'web', 'JP')",
         {"ts": f"{day} 12:00:00"})
    popularity_before = instance.get_latest_materialization_event(dg.AssetKey(["marts", "product_popularity"]))
    try:
        run = materialize(defs, instance, "group:staging or group:marts", partition_range=(day, day))
        assert not run.success
        failed = _check_evaluations(instance, run.run_id)
        name = "marts/fct_order_lines:relationships_fct_order_lines_product_id__product_id__ref_dim_products_"
        assert name in failed and failed[name].passed is False
        assert failed[name].metadata["dagster_dbt/failed_row_count"].value == 1
        popularity_after = instance.get_latest_materialization_event(dg.AssetKey(["marts", "product_popularity"]))
        assert popularity_after.run_id == popularity_before.run_id  # downstream did not run
    finally:
        _sql(platform, "delete from raw.orders where order_id = 'BROKEN-1'")
        assert materialize(defs, instance, "group:staging or group:marts", partition_range=(day, day)).success


def test_embedded_postgres_is_up(platform):
    url = postgres_url(platform[0])
    with sqlalchemy.create_engine(url).connect() as conn:
        assert conn.execute(sqlalchemy.text("select 1")).scalar() == 1
    assert isinstance(psycopg2, object)


def test_new_day_materialises_without_touching_history(platform):
    settings, _, instance = platform
    before = store.read_parquet(paths.raw_day_file(settings.lake_uri, "orders", LAST))
    new_day = str(START + timedelta(days=DAYS))
    generate(GeneratorConfig(events=BASE.events, start=START, days=DAYS + 1, seed=BASE.seed), settings.landing_dir)
    run = materialize(build_definitions(load_settings()), instance,
                      "key:raw/orders or key:raw/events", partition_range=(new_day, new_day))
    assert run.success and not run.failed_checks
    assert store.row_count(paths.raw_day_file(settings.lake_uri, "orders", new_day)) > 0
    after = store.read_parquet(paths.raw_day_file(settings.lake_uri, "orders", LAST))
    pd.testing.assert_frame_equal(before, after)


@pytest.mark.parametrize(
    ("corruption", "failing_check"),
    [
        ("empty", "raw/orders:volume"),
        ("missing_column", "raw/orders:schema_and_ranges"),
        ("negative_quantity", "raw/orders:schema_and_ranges"),
        ("duplicate_order_id", "raw/orders:unique_keys"),
        ("unknown_product", "raw/orders:known_references"),
    ],
)
def test_corrupted_day_fails_the_right_check_and_blocks_features(platform, corruption, failing_check):
    settings, _, instance = platform
    corrupt = GeneratorConfig(events=BASE.events, start=START, days=DAYS, seed=BASE.seed,
                              corrupt_day=date.fromisoformat(CORRUPT_DAY), corruption=corruption)
    generate(corrupt, settings.landing_dir)
    defs = build_definitions(load_settings())
    features_before = _latest(instance, "features/interactions")
    run = materialize(defs, instance, "group:raw or group:features", partition_range=(CORRUPT_DAY, CORRUPT_DAY))
    assert failing_check in run.failed_checks
    evaluation = _check_evaluations(instance, run.run_id)[failing_check]
    assert evaluation.passed is False
    assert CORRUPT_DAY in (evaluation.description or "")  # the message names the day/file
    # blocking: the feature layer did not run in this run
    assert _latest(instance, "features/interactions").metadata == features_before.metadata
    feature_mats = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    keys = {r.event_log_entry.dagster_event.asset_key.path[0] for r in feature_mats.records}
    assert "features" not in keys
    # rows are kept, not lost: accepted + quarantined == landed
    meta = _latest(instance, "raw/orders", CORRUPT_DAY).metadata
    assert meta["accepted_rows"].value + meta["quarantined_rows"].value == meta["input_rows"].value
    if corruption != "empty":
        assert meta["quarantined_rows"].value > 0
        assert store.exists(paths.quarantine_day_file(settings.lake_uri, "orders", CORRUPT_DAY))


def test_clean_rerun_of_the_corrupted_day_recovers(platform):
    settings, _, instance = platform
    generate(BASE, settings.landing_dir)
    run = materialize(build_definitions(load_settings()), instance, "group:raw or group:features",
                      partition_range=(CORRUPT_DAY, CORRUPT_DAY))
    assert run.success and not run.failed_checks
    assert not store.exists(paths.quarantine_day_file(settings.lake_uri, "orders", CORRUPT_DAY))
