"""The demo terminal's view of the loop: runs with their reasons, failed checks, champion and serving moves."""

from __future__ import annotations

import dagster as dg

from hashiramart_assets.automation import LANDING_REASON_TAG, LANDING_TAG
from hashiramart_assets.loop_watch import LoopWatcher, run_reason
from hashiramart_assets.monitoring.retrain_policy import REASON_TAG, RETRAIN_TAG


@dg.asset(check_specs=[dg.AssetCheckSpec("drift_share", asset="drifting")])
def drifting() -> dg.MaterializeResult:
    return dg.MaterializeResult(check_results=[dg.AssetCheckResult(
        passed=False, check_name="drift_share", description="57% of features drifted (limit 30%)")])


def test_reasons_come_from_the_run_tags():
    assert run_reason({LANDING_TAG: "2026-01-01..2026-01-14", LANDING_REASON_TAG: "14 newly landed day(s)"}) == \
        "land_new_days: 14 newly landed day(s)"
    assert run_reason({RETRAIN_TAG: "recommender", REASON_TAG: "failed monitoring/feature_drift:max_psi"}) == \
        "retrain_on_degradation: failed monitoring/feature_drift:max_psi"
    assert run_reason({"dagster/sensor_name": "hashiramart_automation"}).startswith("automation: a model changed")
    assert run_reason({}) == "launched by hand"


def test_the_watcher_prints_each_run_once_with_its_failed_checks_and_version_moves():
    instance = dg.DagsterInstance.ephemeral()
    lines: list[str] = []
    champions = {"hashiramart-recommender": "1"}
    served = {"hashiramart-recommender": None}
    watcher = LoopWatcher(instance, lines.append, lambda: dict(champions), lambda: dict(served))
    watcher.poll()
    assert lines == []  # the first poll only learns where things stand

    result = dg.materialize([drifting], instance=instance, tags={RETRAIN_TAG: "recommender", REASON_TAG: "why"})
    champions["hashiramart-recommender"] = "2"
    served["hashiramart-recommender"] = "1"  # the API has not reloaded yet: not a move
    watcher.poll()
    run = result.run_id[:8]
    assert lines[0] == f"requested __ephemeral_asset_job__ [{run}]: retrain_on_degradation: why"
    assert lines[1].startswith(f"succeeded: __ephemeral_asset_job__ [{run}]")
    assert lines[2] == "  check failed: drifting:drift_share: 57% of features drifted (limit 30%)"
    assert lines[3] == "champion hashiramart-recommender: v1 -> v2"
    assert len(lines) == 4

    served["hashiramart-recommender"] = "2"
    watcher.poll()
    watcher.poll()
    assert lines[4:] == ["API now serves hashiramart-recommender v2 (was v1)"]
