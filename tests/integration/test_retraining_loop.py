"""The closed loop on the trained platform: drifted days land, monitoring fails, the sensor retrains.

Runs after test_models_materialize.py on the same trained platform (versions are compared relatively).
The sensors are evaluated in-process against the same instance (hashiramart_assets/loop.py), exactly
as the daemon would tick them.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import dagster as dg
import mlflow
import pandas as pd
import pytest

from hashiramart_assets import landing
from hashiramart_assets.automation import retrains_in_progress
from hashiramart_assets.definitions import build_definitions
from hashiramart_assets.loop import tick_retrain_sensor
from hashiramart_assets.ml import registry
from hashiramart_assets.ml.train_forecaster import load_champion_forecaster
from hashiramart_assets.pipeline import DATA_LAYERS, simulate_drift
from hashiramart_assets.platform_metrics import PlatformCollector, catalogue_from_definitions
from hashiramart_assets.runner import materialize
from hashiramart_assets.settings import load_settings
from tests.integration.conftest import TRAINED_DATA

pytestmark = pytest.mark.slow  # the trained platform (whole graph), then retrains

NEW_DAYS = 14


def _latest_eval(instance: dg.DagsterInstance, asset: str, check: str):
    key = dg.AssetCheckKey(dg.AssetKey(asset.split("/")), check)
    return instance.get_latest_asset_check_evaluation_record(key).evaluation


def _exporter_reports_the_drift(settings, defs, instance: dg.DagsterInstance) -> None:
    """Prometheus sees the real feature_drift asset's values and the failed drift checks."""
    collector = PlatformCollector(lambda: instance, catalogue_from_definitions(defs), None)
    families = {family.name: family.samples for family in collector.collect()}
    drift = instance.get_latest_materialization_event(dg.AssetKey(["monitoring", "feature_drift"]))
    metadata = drift.asset_materialization.metadata
    assert [s.value for s in families["hashiramart_feature_drift_share"]] == [metadata["share_drifted"].value]
    assert [s.value for s in families["hashiramart_feature_drift_max_psi"]] == [metadata["max_psi"].value]
    assert metadata["max_psi"].value > 0.25  # the failed check's limit
    checks = {(s.labels["asset"], s.labels["check"]): s.value for s in families["hashiramart_asset_check_passed"]}
    assert checks[("monitoring/feature_drift", "max_psi")] == 0.0
    assert checks[("monitoring/feature_drift", "unseen_categories")] == 0.0


def _versions(client, name: str) -> list[int]:
    return sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))


def test_monitoring_after_training_sees_no_drift(trained):
    _, _, instance, _ = trained
    assert _latest_eval(instance, "monitoring/feature_drift", "unseen_categories").passed
    assert _latest_eval(instance, "monitoring/feature_drift", "max_psi").passed
    assert _latest_eval(instance, "monitoring/recommender_quality", "offline_quality").passed
    assert _latest_eval(instance, "monitoring/forecast_accuracy", "wape_degradation").passed


def test_drift_triggers_one_retrain_per_model_and_the_new_versions_know_the_new_category(trained):
    settings, defs, instance, client = trained
    categories_before = set(pd.read_parquet(landing.table_path(settings.landing_dir, "products"))["category"])
    versions_before = {name: _versions(client, name)[-1] for name in registry.MODEL_NAMES}
    assert simulate_drift(settings, print, days=NEW_DAYS, new_category=True, price_factor=1.3)
    products = pd.read_parquet(landing.table_path(settings.landing_dir, "products"))
    new_categories = set(products["category"]) - categories_before
    assert new_categories  # the generator's new product line (one department, its categories)
    new_products = set(products.loc[products["category"].isin(new_categories), "product_id"])
    first = TRAINED_DATA.end + timedelta(days=1)
    last = first + timedelta(days=NEW_DAYS - 1)

    defs = build_definitions(load_settings())
    # the landing sensor asks for exactly the new days, as one ranged run of the data layers, outputs and monitors
    with dg.build_sensor_context(instance=instance, definitions=defs) as context:
        landed = defs.resolve_sensor_def("land_new_days").evaluate_tick(context).run_requests
    assert len(landed) == 1 and landed[0].partition_key_range == dg.PartitionKeyRange(str(first), str(last))
    assert landed[0].tags["hashiramart/landing"] == f"{first}..{last}"
    selected = {key.to_user_string() for key in landed[0].asset_selection}
    assert {"raw/orders", "features/interactions", "marts/daily_sales", "models/recommendations",
            "monitoring/feature_drift", "monitoring/forecast_accuracy"} <= selected
    assert not selected & {"models/recommender", "models/sales_forecaster"}

    assert materialize(defs, instance, DATA_LAYERS, partition_range=(str(first), str(last))).success
    monitoring = materialize(defs, instance, "group:monitoring or key:models/sales_forecasts")
    assert monitoring.success
    unseen = _latest_eval(instance, "monitoring/feature_drift", "unseen_categories")
    assert not unseen.passed and all(c in unseen.description for c in new_categories)
    assert not _latest_eval(instance, "monitoring/feature_drift", "max_psi").passed  # prices x 1.3
    _exporter_reports_the_drift(settings, defs, instance)
    # the past forecasts now have actuals: forecast accuracy is measured (the check may pass or fail)
    accuracy = instance.get_latest_materialization_event(dg.AssetKey(["monitoring", "forecast_accuracy"]))
    assert accuracy.asset_materialization.metadata["scored_points"].value > 0

    tick = tick_retrain_sensor(defs, instance)
    assert sorted(r.job_name for r in tick.requests) == ["retrain_forecaster", "retrain_recommender"]
    assert all("unseen_categories" in r.tags["hashiramart/retrain_reason"] for r in tick.requests)
    assert tick.runs_succeeded and len(tick.run_ids) == 2
    for run_id in tick.run_ids:
        assert instance.get_run_by_id(run_id).tags["hashiramart/retrain"] in ("recommender", "forecaster")

    # new versions, trained on data that contains the new category, with a recorded promotion decision
    for name in registry.MODEL_NAMES:
        assert _versions(client, name)[-1] == versions_before[name] + 1
    rec_meta = instance.get_latest_materialization_event(dg.AssetKey(["models", "recommender"])) \
        .asset_materialization.metadata
    rec_run = client.get_run(rec_meta["mlflow_run_id"].value)
    assert rec_run.data.tags["promotion_decision"] in ("promoted", "kept_champion")
    assert rec_run.data.tags["promotion_reason"] == rec_meta["promotion_reason"].value
    assert rec_run.data.tags["data_end_date"] == str(last)
    model = mlflow.pyfunc.load_model(f"models:/{registry.RECOMMENDER}/{rec_meta['model_version'].value}")
    assert new_products & set(model.unwrap_python_model().model.fitted.product_ids)
    fc_meta = instance.get_latest_materialization_event(dg.AssetKey(["models", "sales_forecaster"])) \
        .asset_materialization.metadata
    forecaster = load_champion_forecaster(fc_meta["mlflow_run_id"].value)
    assert {f"category:{c}" for c in new_categories} <= set(forecaster.series_codes)

    # a second tick does not request the same failure again
    again = tick_retrain_sensor(defs, instance, execute=False)
    assert again.requests == [] and again.skip_reason


def test_a_failed_model_check_alone_triggers_a_retrain_after_the_cooldown(trained, monkeypatch):
    _, defs, instance, _ = trained
    # ALS alone, barely fitted: no own history, neighbours, popularity or seasonal lift to fall back on
    bad = {"factors": 2, "iterations": 1, "history_weight": 0.0, "als_weight": 1.0, "popularity_weight": 0.0,
           "neighbour_weight": 0.0, "explore_neighbour_weight": 0.0, "explore_popularity_weight": 0.0,
           "seasonal_lift": 0.0}
    assert materialize(defs, instance, "key:models/recommender", asset_config={"models__recommender": bad}).success
    assert not _latest_eval(instance, "models/recommender", "beats_baselines").passed
    held = tick_retrain_sensor(defs, instance, execute=False)  # the drift retrain above was just now
    assert held.requests == [] and "cooldown" in held.skip_reason
    monkeypatch.setenv("HASHIRAMART_RETRAIN_COOLDOWN_S", "0")
    assert materialize(defs, instance, "key:models/recommender", asset_config={"models__recommender": bad}).success
    tick = tick_retrain_sensor(defs, instance, execute=False)
    assert [r.job_name for r in tick.requests] == ["retrain_recommender"]
    assert "models/recommender:beats_baselines" in tick.requests[0].tags["hashiramart/retrain_reason"]
    assert tick_retrain_sensor(defs, instance, execute=False).requests == []


def test_a_later_simulation_keeps_the_launched_product_line(trained):
    settings = trained[0]
    before = pd.read_parquet(landing.table_path(settings.landing_dir, "products"))
    assert simulate_drift(settings, print, days=2, new_category=False, price_factor=1.0)
    after = pd.read_parquet(landing.table_path(settings.landing_dir, "products"))
    assert set(after["product_id"]) == set(before["product_id"])  # earlier orders still find their products
    assert landing.read_manifest(settings.landing_dir)["new_category_from"] == str(TRAINED_DATA.end + timedelta(1))


def test_simulate_drift_refuses_days_that_are_not_partitions_yet(trained, monkeypatch):
    settings = trained[0]
    manifest = landing.read_manifest(settings.landing_dir)
    landing.write_manifest(settings.landing_dir, end_date=str(date.today()))
    messages: list[str] = []
    assert not simulate_drift(settings, messages.append, days=3)
    assert "partitions end yesterday" in messages[-1]
    (settings.landing_dir / "_manifest.json").write_text(json.dumps(manifest))


def test_a_failed_retrain_leaves_the_champion_serving_and_does_not_block_the_next(trained):
    _, defs, instance, client = trained
    champion = registry.champion(client, registry.RECOMMENDER).version
    versions = _versions(client, registry.RECOMMENDER)
    outputs = instance.get_latest_materialization_event(dg.AssetKey(["models", "recommendations"])).run_id
    broken = {"ops": {"models__recommender": {"config": {"iterations": 0}}}}  # training raises
    result = defs.resolve_job_def("retrain_recommender").execute_in_process(
        instance=instance, run_config=broken, tags={"hashiramart/retrain": "recommender"}, raise_on_error=False)
    assert not result.success
    assert mlflow.active_run() is None  # nothing of the failed run is left open in this process
    assert registry.champion(client, registry.RECOMMENDER).version == champion  # what the API polls
    assert _versions(client, registry.RECOMMENDER) == versions  # nothing half-registered
    latest = instance.get_latest_materialization_event(dg.AssetKey(["models", "recommendations"]))
    assert latest.run_id == outputs != result.run_id  # the champion's batch output was not replaced
    assert retrains_in_progress(instance) == set()  # the next failure may retrain again
