"""Jobs, sensors and automation conditions: how the graph runs without anyone clicking.

The loop: ``land_new_days`` ingests newly landed days into the raw layer; eager automation conditions
carry them through features, warehouse, marts, batch forecasts and monitoring; ``retrain_on_degradation``
turns failed drift / quality / model checks into a retrain run; the retrained challenger is promoted
only if better (models layer), and the API polls the champion alias.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import dagster as dg

from hashiramart_assets import landing
from hashiramart_assets.monitoring.retrain_policy import (
    FORECASTER,
    JOBS,
    REASON_TAG,
    RECOMMENDER,
    RETRAIN_TAG,
    WATCHED,
    FailedCheck,
    plan_retrains,
)
from hashiramart_assets.settings import load_settings

RAW_AND_FEATURES = dg.AssetSelection.groups("raw", "features")
EAGER = dg.AutomationCondition.eager()

# Data should arrive daily: warn after 26 h without a materialisation, fail after 50 h. Dagster evaluates
# these policies itself (no sensor needed) and shows them in the UI.
FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=50), warn_window=timedelta(hours=26))

RETRAIN_SELECTIONS = {
    RECOMMENDER: dg.AssetSelection.keys(["features", "interactions"], ["models", "recommender"],
                                        ["models", "recommendations"]),
    FORECASTER: dg.AssetSelection.keys(["models", "sales_forecaster"], ["models", "sales_forecasts"]),
}
IN_PROGRESS = [dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING,
               dg.DagsterRunStatus.STARTED]


def build_jobs(partitions_def: dg.PartitionsDefinition) -> list[dg.UnresolvedAssetJobDefinition]:
    daily = dg.define_asset_job(
        "daily_raw_ingest",
        selection=dg.AssetSelection.keys(["raw", "orders"], ["raw", "events"]),
        partitions_def=partitions_def,
        description="Ingest one day (or a range, as one run) of orders and events into the raw layer.",
    )
    landed = dg.define_asset_job(
        "ingest_landed_day",
        selection=dg.AssetSelection.groups("raw"),
        partitions_def=partitions_def,
        description="A newly landed day: refresh the dimension tables, then ingest the day's orders and events.",
    )
    refresh = dg.define_asset_job(
        "refresh_dimensions_and_features",
        selection=dg.AssetSelection.keys(["raw", "customers"], ["raw", "products"])
        | dg.AssetSelection.groups("features"),
        description="Re-ingest the dimension tables and recompute every Spark feature table.",
    )
    retrain = [
        dg.define_asset_job(JOBS[model], selection=selection,
                            description=f"Retrain the {model}: its stale features, the model, its batch output.")
        for model, selection in RETRAIN_SELECTIONS.items()
    ]
    return [daily, landed, refresh, *retrain]


def cooldown_seconds() -> float:
    """HASHIRAMART_RETRAIN_COOLDOWN_S, read at every tick so it can be changed without a redeploy."""
    return load_settings().retrain_cooldown_s


def failed_checks(instance: dg.DagsterInstance) -> list[FailedCheck]:
    """The latest evaluation of every watched check, where it failed with ERROR severity."""
    keys = {}
    for name in WATCHED:
        asset, check = name.split(":")
        keys[dg.AssetCheckKey(dg.AssetKey(asset.split("/")), check)] = name
    latest = instance.event_log_storage.get_latest_asset_check_execution_by_key(list(keys))
    failures = []
    for key, record in latest.items():
        evaluation = record.evaluation
        if evaluation is None or evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.ERROR:
            continue
        failures.append(FailedCheck(keys[key], record.id, evaluation.description or "failed"))
    return failures


def retrains_in_progress(instance: dg.DagsterInstance) -> set[str]:
    busy = set()
    for model in JOBS:
        records = instance.get_run_records(dg.RunsFilter(tags={RETRAIN_TAG: model}, statuses=IN_PROGRESS), limit=1)
        if records:
            busy.add(model)
    return busy


def build_sensors(jobs: list[dg.UnresolvedAssetJobDefinition],
                  partitions_def: dg.TimeWindowPartitionsDefinition) -> list[dg.SensorDefinition]:
    by_name = {job.name: job for job in jobs}

    @dg.sensor(
        name="retrain_on_degradation",
        jobs=[by_name[name] for name in JOBS.values()],
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Failed drift, quality or model checks -> retrain the affected model (once per failure, with a "
                    "cooldown, never while a retrain of it is running).",
    )
    def retrain_on_degradation(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        cursor = json.loads(context.cursor) if context.cursor else {}
        plan = plan_retrains(failed_checks(context.instance), cursor, time.time(), cooldown_seconds(),
                             retrains_in_progress(context.instance))
        requests = [
            dg.RunRequest(run_key=r.run_key, job_name=r.job_name,
                          tags={RETRAIN_TAG: r.model, REASON_TAG: r.reason[:250]})
            for r in plan.requests
        ]
        skip = "; ".join(plan.skipped) or "no new failed checks"
        return dg.SensorResult(run_requests=requests, cursor=json.dumps(plan.cursor),
                               skip_reason=None if requests else skip)

    @dg.sensor(
        name="land_new_days",
        job=by_name["ingest_landed_day"],
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Days that landed (generator, importers, simulate-drift) but are not in the raw layer yet.",
    )
    def land_new_days(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        landing_dir = load_settings().landing_dir
        done = context.instance.get_materialized_partitions(dg.AssetKey(["raw", "orders"]))
        valid = set(partitions_def.get_partition_keys(dynamic_partitions_store=context.instance))
        new = [d for d in landing.landed_days(landing_dir, "orders") if d in valid and d not in done]
        products = landing.table_path(landing_dir, "products")
        dims = int(products.stat().st_mtime) if products.exists() else 0
        return dg.SensorResult(
            run_requests=[dg.RunRequest(run_key=f"land-{day}-{dims}", partition_key=day) for day in new],
            skip_reason=None if new else "no newly landed days",
        )

    automation = dg.AutomationConditionSensorDefinition(
        "hashiramart_automation", target=dg.AssetSelection.all(), minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    return [retrain_on_degradation, land_new_days, automation]
