"""The repository's production dagster.yaml on Postgres: runs, event logs, checks and sensor ticks stored there,
the queued run coordinator and the Spark pool configured, and the daemon ticking the platform's sensors.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.scheduler.instigation import InstigatorType, TickStatus

from hashiramart_assets.runner import get_instance
from hashiramart_assets.settings import load_settings
from tests.production.conftest import INGESTED, LAST_DAY, REPO, ProductionPlatform
from tests.support import running_server

DAEMON_TIMEOUT_S = 240  # the landing run carries the day through Spark features, the warehouse and dbt


@pytest.fixture
def instance(production_env: ProductionPlatform):
    instance = get_instance(load_settings())
    yield instance
    instance.dispose()


def test_instance_is_postgres_backed_with_queue_and_spark_pool(instance: dg.DagsterInstance):
    from dagster._core.run_coordinator import QueuedRunCoordinator
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
    concurrency = instance.get_concurrency_config()
    assert concurrency.pool_config.default_pool_limit == 1  # pool="spark" steps run one at a time
    assert concurrency.run_queue_config.max_concurrent_runs == 4
    assert {limit["key"] for limit in concurrency.run_queue_config.tag_concurrency_limits} == {
        "hashiramart/retrain", "dagster/backfill"}


def test_raw_materialisation_and_checks_are_in_postgres(instance: dg.DagsterInstance):
    orders = dg.AssetKey(["raw", "orders"])
    done = instance.get_materialized_partitions(orders)
    assert min(done) == INGESTED[0] and max(done) == INGESTED[1] and LAST_DAY not in done
    record = instance.get_latest_asset_check_evaluation_record(dg.AssetCheckKey(orders, "schema_and_ranges"))
    assert record is not None and record.evaluation is not None and record.evaluation.passed
    run = instance.get_run_by_id(record.run_id)
    assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS


def _sensor_ticks(instance: dg.DagsterInstance, name: str) -> list:
    for state in instance.all_instigator_state(instigator_type=InstigatorType.SENSOR):
        if state.instigator_name == name:
            return list(instance.get_ticks(state.instigator_origin_id, state.selector_id))
    return []


@pytest.mark.slow  # the real dagster-daemon carries a landed day through the data layers
def test_daemon_ticks_the_sensor_and_the_queue_launches_its_run(production_env: ProductionPlatform,
                                                                 instance: dg.DagsterInstance, tmp_path: Path):
    """`dagster-daemon run` on the Postgres instance: land_new_days sees the un-ingested last day, requests a
    ranged process_landed_days run through the queued run coordinator, and the queue daemon launches it; the
    run carries the day through the data layers (no model is trained here, so no batch output or monitor)."""
    log = tmp_path / "daemon.log"
    command = [str(Path(sys.executable).parent / "dagster-daemon"), "run", "-m", "hashiramart_assets.definitions"]
    with running_server(command, cwd=REPO, env=os.environ.copy(), log=log) as process:  # no endpoint to wait for
        deadline = time.monotonic() + DAEMON_TIMEOUT_S
        run = None
        while time.monotonic() < deadline:
            ticks = [t for t in _sensor_ticks(instance, "land_new_days") if t.status == TickStatus.SUCCESS]
            runs = instance.get_runs(dg.RunsFilter(tags={"dagster/sensor_name": "land_new_days"}))
            run = runs[0] if runs else None
            if ticks and run is not None and run.status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE):
                break
            assert process.poll() is None, f"dagster-daemon exited:\n{log.read_text()[-4000:]}"
            time.sleep(2)
        assert ticks, f"no successful land_new_days tick in {DAEMON_TIMEOUT_S}s:\n{log.read_text()[-4000:]}"
        assert ticks[0].run_ids and ticks[0].tick_data.run_keys, ticks[0]
        assert run is not None and run.job_name == "process_landed_days"
        assert run.tags["hashiramart/landing"] == f"{LAST_DAY}..{LAST_DAY}"
        assert run.status == dg.DagsterRunStatus.SUCCESS, f"run {run.run_id}: {run.status}\n{log.read_text()[-4000:]}"
        for key in (["raw", "orders"], ["warehouse", "raw_orders"], ["marts", "daily_sales"]):
            assert LAST_DAY in instance.get_materialized_partitions(dg.AssetKey(key)), key
        features = instance.get_latest_materialization_event(dg.AssetKey(["features", "interactions"]))
        assert features.run_id == run.run_id  # the same ranged run carried the day on to the features
        daemons = {hb.daemon_type for hb in instance.get_daemon_heartbeats().values()}
        assert {"SENSOR", "QUEUED_RUN_COORDINATOR"} <= daemons
