"""The platform exporter scraped for real: check results from a Postgres-backed instance (one real failure from a
corrupted day), monitoring metadata, and the champion from the MLflow server whose artifacts are on S3."""

from __future__ import annotations

import shutil
import urllib.request
from datetime import timedelta

import dagster as dg
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hashiramart_assets.datagen import GeneratorConfig, generate
from hashiramart_assets.definitions import build_definitions
from hashiramart_assets.ml import registry
from hashiramart_assets.platform_metrics import PlatformCollector, catalogue_from_definitions, serve
from hashiramart_assets.runner import get_instance, materialize
from hashiramart_assets.settings import load_settings
from tests.conftest import world_searchable_tempdir
from tests.production.conftest import REPO, START, S3Platform, dagster_postgres_env
from tests.support import free_loopback_port, session_postgres_database

CORRUPT_DAY = START + timedelta(days=2)
DATA = GeneratorConfig(events=3_000, start=START, days=5, seed=3, corrupt_day=CORRUPT_DAY,
                       corruption="negative_quantity")


@pytest.fixture
def metrics_platform(s3_platform: S3Platform, monkeypatch: pytest.MonkeyPatch):
    """Its own home and Postgres-backed instance (the corrupted day must not touch the shared platform)."""
    home = world_searchable_tempdir("hm-prod-metrics-")
    env = {"HASHIRAMART_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
           **dagster_postgres_env(session_postgres_database("hm_prod_metrics_dagster"))}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    (home / "dagster").mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster" / "dagster.yaml")
    generate(DATA, load_settings().landing_dir)
    yield load_settings(), s3_platform
    shutil.rmtree(home, ignore_errors=True)


def _scrape(url: str) -> dict[str, list]:
    with urllib.request.urlopen(url, timeout=30) as response:
        text = response.read().decode()
    return {family.name: family.samples for family in text_string_to_metric_families(text)}


def test_exporter_reports_checks_drift_and_champions(metrics_platform):
    settings, s3_platform = metrics_platform
    defs = build_definitions(settings)
    instance = get_instance(settings)
    server = None
    try:
        last = str(START + timedelta(days=DATA.days - 1))
        summary = materialize(defs, instance, "group:raw", partition_range=(str(START), last))
        assert "raw/orders:schema_and_ranges" in summary.failed_checks, summary
        drift = {"share_drifted": 0.25, "max_psi": 0.31}  # the names monitoring/feature_drift records
        instance.report_runless_asset_event(dg.AssetMaterialization(
            asset_key=["monitoring", "feature_drift"], metadata={**drift, "recent_window": "2025-01-01..07"}))

        collector = PlatformCollector(lambda: get_instance(settings), catalogue_from_definitions(defs),
                                      settings.mlflow_tracking_uri, registry.MODEL_NAMES)
        port = free_loopback_port()
        server, _ = serve(collector, "127.0.0.1", port)
        metrics = _scrape(f"http://127.0.0.1:{port}/metrics")
    finally:
        if server is not None:
            server.shutdown()
        instance.dispose()

    checks = {(s.labels["asset"], s.labels["check"]): s.value for s in metrics["hashiramart_asset_check_passed"]}
    assert checks[("raw/orders", "schema_and_ranges")] == 0.0
    assert checks[("raw/events", "schema_and_ranges")] == 1.0
    assert checks[("raw/customers", "unique_keys")] == 1.0
    assert ("features/interactions", "schema") not in checks  # never evaluated: not reported
    assert {s.value for s in metrics["hashiramart_feature_drift_share"]} == {0.25}
    assert {s.value for s in metrics["hashiramart_feature_drift_max_psi"]} == {0.31}
    monitoring = {(s.labels["asset"], s.labels["name"]): s.value for s in metrics["hashiramart_monitoring_value"]}
    assert monitoring[("monitoring/feature_drift", "share_drifted")] == 0.25
    champions = {s.labels["model"]: s.value for s in metrics["hashiramart_model_champion_version"]}
    assert champions == {registry.RECOMMENDER: float(s3_platform.champion.version)}
    headline = metrics["hashiramart_model_champion_metric"]
    assert [(s.labels["model"], s.labels["metric"]) for s in headline] == [(registry.RECOMMENDER, "ndcg_at_10")]
    assert 0.0 <= headline[0].value <= 1.0
    fresh = {s.labels["asset"] for s in metrics["hashiramart_asset_last_materialization_timestamp_seconds"]}
    assert {"raw/orders", "raw/events", "monitoring/feature_drift"} <= fresh
    assert {s.labels["source"]: s.value for s in metrics["hashiramart_exporter_source_up"]} == {
        "dagster": 1.0, "mlflow": 1.0}
