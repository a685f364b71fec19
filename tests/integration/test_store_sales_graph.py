"""A store daily-sales file imported through the CLI and run through the whole graph for real.

Own HASHIRAMART_HOME and database on the session's Postgres server (as tests/integration/conftest.py's
trained platform); a small Rossmann-like file (store_sales_sample: Sundays and a few holidays closed for every
store, some single-store refurbishments). The data layers must pass every check, marts.daily_sales must hold
one product-grain series per store with units = the file's sales, the forecaster must train and register, and
the recommender must step aside without failing the run (one product per pseudo-customer: materialised as
not trained, nothing registered, recommendations skipped).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import dagster as dg
import mlflow
import pandas as pd
import pytest
import sqlalchemy
from click.testing import CliRunner
from mlflow.tracking import MlflowClient

from hashiramart_assets.cli import main
from hashiramart_assets.definitions import build_definitions
from hashiramart_assets.importers.store_sales_sample import SampleSummary, write_sample
from hashiramart_assets.ml import registry
from hashiramart_assets.pipeline import DATA_LAYERS, MODELS
from hashiramart_assets.runner import RunSummary, get_instance, materialize
from hashiramart_assets.settings import load_settings
from tests.conftest import world_searchable_tempdir
from tests.integration.conftest import ENV_KEYS
from tests.support import restore_env, session_postgres_database

pytestmark = pytest.mark.slow  # the whole graph on 300 days of 8 stores

# Seeded: on this sample the forecaster's backtest beats seasonal naive (WAPE 0.089 vs 0.107), so it becomes
# champion and the batch forecasts and monitoring run. With much shorter histories it often does not (about 44
# training days after the 28-day window and 28 days of lags), and then, by design, no champion exists.
STORES, DAYS, START, SEED = 8, 300, date(2024, 1, 1), 7
# Rossmann-like promotions run every other week, so the newest 7 days' promo_share can differ from the
# 28-day reference whatever the data: monitoring/feature_drift may flag it (a known effect of its windows).
TOLERATED_FAILED_CHECKS = {"monitoring/feature_drift:max_psi", "monitoring/feature_drift:drift_share"}


@dataclass(frozen=True)
class StorePlatform:
    sample: SampleSummary
    report: dict
    url: str
    data: RunSummary
    models: RunSummary
    instance: dg.DagsterInstance
    tracking_uri: str


@pytest.fixture(scope="module")
def store_platform(platform_home) -> Iterator[StorePlatform]:
    url = session_postgres_database("hm_store_sales")  # the session's server, own database
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    home = world_searchable_tempdir("hm-store-sales-")
    env = {"HASHIRAMART_HOME": str(home), "HASHIRAMART_POSTGRES_URL": url, "DAGSTER_HOME": str(home / "dagster"),
           "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"}
    try:
        os.environ.update(env)
        sample = write_sample(home / "source", stores=STORES, days=DAYS, start=START, seed=SEED,
                              refurbishments=2)
        result = CliRunner().invoke(main, ["import", "store-sales", str(sample.sales_file), "--stores",
                                           str(sample.stores_file)], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        settings = load_settings()
        defs, instance = build_definitions(settings), get_instance(settings)
        data = materialize(defs, instance, DATA_LAYERS, partition_range=(report["start_date"], report["end_date"]))
        models = materialize(defs, instance, MODELS) if data.success else None
        yield StorePlatform(sample, report, url, data, models, instance, settings.mlflow_tracking_uri)
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        restore_env(saved)
        shutil.rmtree(home, ignore_errors=True)


def test_import_reconciles_and_infers_the_shop_calendar(store_platform):
    sample, report = store_platform.sample, store_platform.report
    assert report["input_rows"] == sample.rows == STORES * DAYS
    assert (report["accepted_rows"], report["closed_rows"], report["quarantined_rows"]) == (
        sample.open_rows, sample.closed_rows, 0)
    calendar = report["calendar"]
    assert calendar["closed_weekdays"] == ["Sunday"]
    assert calendar["closed_days"] == sample.shop_closed_days
    assert calendar["trading_days"] == DAYS - sample.shop_closed_days
    assert report["products"] == report["customers"] == STORES


def test_data_layers_pass_every_check(store_platform):
    assert store_platform.data.success and store_platform.data.failed_checks == []


def test_daily_sales_mart_holds_one_series_per_store_with_units_equal_to_sales(store_platform):
    engine = sqlalchemy.create_engine(store_platform.url)
    try:
        with engine.connect() as conn:
            mart = pd.read_sql(sqlalchemy.text(
                "select date, item_id, category, department, units, revenue, promo from marts.daily_sales "
                "where grain = 'product'"), conn)
    finally:
        engine.dispose()
    source = pd.read_csv(store_platform.sample.sales_file)
    opened = source[source["Open"] == 1]
    expected = pd.DataFrame({"date": pd.to_datetime(opened["Date"]), "item_id": "store-" + opened["Store"].astype(str),
                             "units": opened["Sales"], "promo": opened["Promo"] == 1})
    mart["date"] = pd.to_datetime(mart["date"])
    assert sorted(mart["item_id"].unique()) == sorted(f"store-{s}" for s in range(1, STORES + 1))
    merged = expected.merge(mart, on=["date", "item_id"], how="outer", suffixes=("_file", "_mart"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"].head()
    assert (merged["units_file"] == merged["units_mart"]).all()
    assert (merged["revenue"].astype(float) == merged["units_mart"]).all()  # unit price 1.0
    assert (merged["promo_file"] == merged["promo_mart"]).all()


def test_forecaster_trains_and_registers_while_the_recommender_steps_aside(store_platform):
    models, instance = store_platform.models, store_platform.instance
    assert models is not None and models.success  # no step failed
    assert set(models.failed_checks) <= TOLERATED_FAILED_CHECKS
    forecaster = instance.get_latest_materialization_event(dg.AssetKey(["models", "sales_forecaster"]))
    meta = forecaster.asset_materialization.metadata
    assert meta["series"].value >= STORES and meta["model_version"].value
    assert 0 < meta["wape"].value < 1 and meta["baseline_seasonal_naive_wape"].value > 0
    client = MlflowClient(store_platform.tracking_uri)
    assert [str(v.version) for v in client.search_model_versions(f"name='{registry.FORECASTER}'")] == ["1"]
    assert client.search_model_versions(f"name='{registry.RECOMMENDER}'") == []

    recommender = instance.get_latest_materialization_event(dg.AssetKey(["models", "recommender"]))
    assert recommender.asset_materialization.metadata["trained"].value is False
    assert "every customer bought exactly one product" in recommender.asset_materialization.metadata["reason"].value
    assert instance.get_latest_materialization_event(dg.AssetKey(["models", "recommendations"])) is None
    # monitoring still runs on the forecaster's champion (feature_drift depends on both models)
    drift = instance.get_latest_materialization_event(dg.AssetKey(["monitoring", "feature_drift"]))
    assert drift.run_id == models.run_id and 0 <= drift.asset_materialization.metadata["share_drifted"].value <= 1
    checks = instance.all_logs(models.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    recommender_checks = [r.dagster_event.event_specific_data for r in checks
                          if r.dagster_event.event_specific_data.asset_key == dg.AssetKey(["models", "recommender"])]
    assert len(recommender_checks) == 3
    assert all(c.severity == dg.AssetCheckSeverity.WARN and not c.passed for c in recommender_checks)
