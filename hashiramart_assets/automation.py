"""Jobs, sensors and automation conditions: how the graph runs without anyone clicking.

The loop, as the daemon runs it:

1. ``land_new_days`` sees landed days that are not in the raw layer and requests ONE ranged run of
   ``process_landed_days``: raw -> features -> warehouse -> staging/marts -> the champions' batch outputs
   -> monitoring, for all new days at once (landing_runs.py decides the range).
2. Monitoring's checks fail on drift or degradation; ``retrain_on_degradation`` turns each failed ERROR
   check into one retrain run of the affected model (retrain_policy.py: once per failure, cooldown,
   never while a retrain of it or a landing run is in progress).
3. The retrained challenger is promoted only if better (models layer); the API polls the champion alias.
4. After a model changed, ``ON_MODEL_CHANGE`` re-runs its batch output and the monitors against it.
5. While an online experiment runs, ``conclude_experiments`` materialises ``monitoring/experiment_results``
   every HASHIRAMART_EXPERIMENT_CHECK_MINUTES; that run promotes or retires the challenger on a verdict.

Why not eager conditions down the data layers: Dagster's eager condition only ever requests the latest
time partition of a partitioned asset (``in_latest_time_window``), so of 14 landed days 13 never reached
the warehouse and marts, and it never fires while any upstream partition is missing, which kept the
unpartitioned features "Not requested" forever whenever one day of the partitions had no data.
Every run here uses the in-process executor (definitions.py): one process and one Spark session per run
instead of one process per step.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import dagster as dg
import sqlalchemy
import sqlalchemy.pool

from hashiramart_assets import keys, landing
from hashiramart_assets.compat import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from hashiramart_assets.experiments import store as experiment_store
from hashiramart_assets.experiments.store import Experiment
from hashiramart_assets.lake import paths, store
from hashiramart_assets.landing_runs import plan_landing
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
from hashiramart_assets.services.postgres import postgres_status
from hashiramart_assets.settings import Settings, load_settings

MODEL_KEYS = {RECOMMENDER: keys.RECOMMENDER,
              FORECASTER: keys.SALES_FORECASTER}
# Batch outputs and monitors follow their model: refreshed once a model changed (a retrain, a training
# started in the UI) and nothing they read is being written. New data reaches them through process_landed_days.
ON_MODEL_CHANGE = (
    dg.AutomationCondition.any_deps_updated().allow(dg.AssetSelection.groups("models")).since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("a model it follows changed")

LANDED_JOB = "process_landed_days"
EXPERIMENT_JOB = "analyse_experiments"
EXPERIMENT_TAG = "hashiramart/experiments"  # the experiment ids a run analysed
LANDING_TAG = "hashiramart/landing"  # first..last of a landing run
LANDING_REASON_TAG = "hashiramart/landing_reason"
BATCH_OUTPUTS = {RECOMMENDER: keys.RECOMMENDATIONS,
                 FORECASTER: keys.SALES_FORECASTS}
MONITORS = {
    RECOMMENDER: [keys.RECOMMENDER_QUALITY],
    FORECASTER: [keys.FORECAST_ACCURACY],
}
FEATURE_DRIFT = keys.FEATURE_DRIFT
DATA_LAYERS = dg.AssetSelection.groups("raw", "features", "warehouse", "staging", "marts")

# Data should arrive daily: warn after 26 h without a materialisation, fail after 50 h. Dagster evaluates
# these policies itself (no sensor needed) and shows them in the UI.
FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=50), warn_window=timedelta(hours=26))

# The retrain reads the features the landing run refreshed (recomputing them would start Spark again).
RETRAIN_SELECTIONS = {
    RECOMMENDER: dg.AssetSelection.keys(MODEL_KEYS[RECOMMENDER], BATCH_OUTPUTS[RECOMMENDER]),
    FORECASTER: dg.AssetSelection.keys(MODEL_KEYS[FORECASTER], BATCH_OUTPUTS[FORECASTER]),
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
        LANDED_JOB,
        selection=DATA_LAYERS | dg.AssetSelection.keys(*BATCH_OUTPUTS.values())
        | dg.AssetSelection.groups("monitoring"),
        partitions_def=partitions_def,
        description="Newly landed days, as one ranged run: raw -> features -> warehouse -> marts -> the "
                    "champions' batch outputs -> monitoring (whose failed checks retrain_on_degradation reads).",
    )
    refresh = dg.define_asset_job(
        "refresh_dimensions_and_features",
        selection=dg.AssetSelection.keys(["raw", "customers"], ["raw", "products"])
        | dg.AssetSelection.groups("features"),
        description="Re-ingest the dimension tables and recompute every Spark feature table.",
    )
    retrain = [
        dg.define_asset_job(JOBS[model], selection=selection,
                            description=f"Retrain the {model} on the current features, then its batch output.")
        for model, selection in RETRAIN_SELECTIONS.items()
    ]
    experiments = dg.define_asset_job(
        EXPERIMENT_JOB, selection=dg.AssetSelection.keys(keys.EXPERIMENT_RESULTS),
        description="Analyse the running online experiment; promote or retire its challenger on a verdict.",
    )
    return [daily, landed, refresh, *retrain, experiments]


def running_experiments(settings: Settings) -> list[Experiment] | str:
    """The running experiments, or why they cannot be read (a sensor never starts the embedded Postgres)."""
    url = settings.postgres_url
    if url is None:
        status = postgres_status(settings)
        if not status.running or status.url is None:
            return "the embedded Postgres is not running (no API has recorded anything)"
        url = status.url
    engine = sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)
    try:
        with engine.connect() as conn:
            return experiment_store.active(conn)
    except Exception as exc:  # reported as the skip reason; the next tick tries again
        return f"app database unreachable: {type(exc).__name__}: {exc}".splitlines()[0][:300]
    finally:
        engine.dispose()


def cooldown_seconds() -> float:
    """HASHIRAMART_RETRAIN_COOLDOWN_S, read at every tick so it can be changed without a redeploy."""
    return load_settings().retrain_cooldown_s


def failed_checks(instance: dg.DagsterInstance) -> list[FailedCheck]:
    """The latest evaluation of every watched check, where it failed with ERROR severity."""
    keys = {}
    for name in WATCHED:
        asset, check = name.split(":")
        keys[dg.AssetCheckKey(dg.AssetKey(asset.split("/")), check)] = name
    latest = {key: record for key in keys if (record := instance.get_latest_asset_check_evaluation_record(key))}
    failures = []
    for key, record in latest.items():
        evaluation = record.evaluation
        if evaluation is None or evaluation.passed or evaluation.severity != dg.AssetCheckSeverity.ERROR:
            continue
        failures.append(FailedCheck(keys[key], record.id, evaluation.description or "failed",
                                    repeats_on_retrain=_repeats_on_retrain(instance, key, record)))
    return failures


def _repeats_on_retrain(instance: dg.DagsterInstance, key: dg.AssetCheckKey, record) -> bool:
    """A model check that failed for a model trained with default settings, and no day was ingested since."""
    if key.asset_key not in MODEL_KEYS.values():
        return False
    run = instance.get_run_by_id(record.run_id)
    if run is None or (run.run_config or {}).get("ops"):
        return False  # trained with hand-set hyperparameters: a retrain with the defaults is a different model
    orders = instance.get_latest_materialization_event(keys.RAW_ORDERS)
    return orders is None or orders.timestamp <= record.create_timestamp


def _runs_in_progress(instance: dg.DagsterInstance, tags: dict[str, str | list[str]]) -> bool:
    return bool(instance.get_run_records(dg.RunsFilter(tags=tags, statuses=IN_PROGRESS), limit=1))


def retrains_in_progress(instance: dg.DagsterInstance) -> set[str]:
    return {model for model in JOBS if _runs_in_progress(instance, {RETRAIN_TAG: model})}


def landing_in_progress(instance: dg.DagsterInstance) -> bool:
    """A process_landed_days run is queued or running (the sensor's or one launched by hand: both write)."""
    return bool(instance.get_run_records(dg.RunsFilter(job_name=LANDED_JOB, statuses=IN_PROGRESS), limit=1))


def trained_models(instance: dg.DagsterInstance) -> list[str]:
    """Models with at least one materialisation: only their batch outputs and monitors can run."""
    return [model for model, key in MODEL_KEYS.items() if instance.get_latest_materialization_event(key)]


def landing_selection(models: list[str]) -> list[dg.AssetKey]:
    """process_landed_days' assets: the data layers always, a model's batch output and monitors once it exists."""
    keys: list[dg.AssetKey] = []
    for model in models:
        keys += [BATCH_OUTPUTS[model], *MONITORS[model]]
    if models:
        keys.append(FEATURE_DRIFT)
    return keys


def relanded_days(landing_dir, lake_uri: str, days: list[str]) -> list[str]:
    """Ingested days whose landed orders file is newer than the raw layer's record of ingesting that day."""
    ingested = store.modified_times([paths.day_status_file(lake_uri, "orders", d) for d in days])
    changed = []
    for day in days:
        status = ingested.get(paths.day_status_file(lake_uri, "orders", day))
        file = landing.day_path(landing_dir, "orders", day)
        if status is not None and file.exists() and file.stat().st_mtime > status + 1:
            changed.append(day)
    return changed


def build_sensors(jobs: list[dg.UnresolvedAssetJobDefinition],
                  partitions_def: dg.TimeWindowPartitionsDefinition) -> list[dg.SensorDefinition]:
    by_name = {job.name: job for job in jobs}

    @dg.sensor(
        name="retrain_on_degradation",
        jobs=[by_name[name] for name in JOBS.values()],
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Failed drift, quality or model checks -> retrain the affected model (once per failure, with a "
                    "cooldown, never while a retrain of it or a landing run is in progress).",
    )
    def retrain_on_degradation(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        if landing_in_progress(context.instance):
            # its monitors are about to report on newer data: decide on those, not on the previous ones
            return dg.SensorResult(skip_reason="a landing run is in progress: waiting for its monitoring")
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
        job=by_name[LANDED_JOB],
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Days that landed (generator, importers, simulate-drift) but are not in the raw layer yet: "
                    "all of them as one ranged process_landed_days run.",
    )
    def land_new_days(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        instance, settings = context.instance, load_settings()
        busy = landing_in_progress(instance) or bool(retrains_in_progress(instance))
        landed = landing.landed_days(settings.landing_dir, "orders")
        materialized = instance.get_materialized_partitions(keys.RAW_ORDERS)
        plan = plan_landing(
            landed, materialized, partitions_def.get_partition_keys(dynamic_partitions_store=instance), busy,
            relanded_days(settings.landing_dir, settings.lake_uri, [d for d in landed if d in materialized]),
        )
        if plan.first is None:
            return dg.SensorResult(skip_reason=plan.skip_reason)
        span = f"{plan.first}..{plan.last}"
        # a re-landed (fixed) file gets a new run key: a failed landing run is retried only on new input
        stamp = landing.landed_stamp(load_settings().landing_dir, plan.new_days)
        assert context.repository_def is not None  # a sensor is evaluated within its Definitions
        selection = [*DATA_LAYERS.resolve(context.repository_def.asset_graph),
                     *landing_selection(trained_models(instance))]
        return dg.SensorResult(run_requests=[dg.RunRequest(
            run_key=f"{plan.run_key}@{stamp}",
            asset_selection=selection,
            tags={ASSET_PARTITION_RANGE_START_TAG: plan.first, ASSET_PARTITION_RANGE_END_TAG: plan.last,
                  LANDING_TAG: span, LANDING_REASON_TAG: plan.reason},
        )])

    @dg.sensor(
        name="conclude_experiments",
        job=by_name[EXPERIMENT_JOB],
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="While an online experiment runs: analyse it every HASHIRAMART_EXPERIMENT_CHECK_MINUTES "
                    "(monitoring/experiment_results), which promotes a significantly better challenger (not worse "
                    "offline) or retires a significantly worse one, and ends the experiment with the reason.",
    )
    def conclude_experiments(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        settings = load_settings()
        running = running_experiments(settings)
        if isinstance(running, str):
            return dg.SensorResult(skip_reason=running)
        if not running:
            return dg.SensorResult(skip_reason="no online experiment is running")
        if context.instance.get_run_records(dg.RunsFilter(job_name=EXPERIMENT_JOB, statuses=IN_PROGRESS), limit=1):
            return dg.SensorResult(skip_reason="an analysis of the experiment is in progress")
        period = max(settings.experiment_check_minutes, 1 / 60) * 60
        ids = ",".join(str(e.id) for e in running)
        return dg.SensorResult(run_requests=[dg.RunRequest(
            run_key=f"experiments-{ids}-{int(time.time() // period)}", tags={EXPERIMENT_TAG: ids},
        )])

    automation = dg.AutomationConditionSensorDefinition(
        "hashiramart_automation", target=dg.AssetSelection.all(), minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    return [retrain_on_degradation, land_new_days, conclude_experiments, automation]
