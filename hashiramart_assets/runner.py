"""Materialise assets in-process against the persistent Dagster instance (CLI and demo).

Why in-process: ``hashiramart materialize`` and the demo must work without a running daemon or UI,
yet every run must be recorded in the same instance the UI shows, so lineage and history are one.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg

from hashiramart_assets.compat import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from hashiramart_assets.progress import RunProgress, Say, progress_logger, running_ui_url
from hashiramart_assets.settings import Settings

# The job name dg.materialize gives its runs; kept, so runs look the same in the UI as before.
EPHEMERAL_JOB_NAME = "__ephemeral_asset_job__"

EMBEDDED_HEADER = "# Embedded default written by hashiramart"
INSTANCE_YAML = EMBEDDED_HEADER + """: SQLite storage under DAGSTER_HOME.
# Production storage (Postgres) is configured by the repository's dagster.yaml.
# The storage is Dagster's SQLite storage with an event log that skips the fsync per event
# (hashiramart_assets/dagster_storage.py says why); files stay where Dagster's default keeps them.
telemetry:
  enabled: false
storage:
  custom:
    module: hashiramart_assets.dagster_storage
    class: LocalSqliteStorage
    config:
      base_dir: {base_dir}
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 2
"""


def prepare_dagster_home(settings: Settings) -> Path:
    """Create DAGSTER_HOME with an embedded-default dagster.yaml unless one exists; export it."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    # our own earlier default (no storage section) is upgraded in place; a user's own file is left alone
    if not config.exists() or (config.read_text().startswith(EMBEDDED_HEADER) and "storage:" not in config.read_text()):
        config.write_text(INSTANCE_YAML.format(base_dir=json.dumps(str(home))))
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def get_instance(settings: Settings) -> dg.DagsterInstance:
    prepare_dagster_home(settings)
    return dg.DagsterInstance.get()


# Above this many days a ranged run plans each asset as one partition-subset event instead of one event per
# asset and day: a year of 17 partitioned assets is ~6,200 single SQLite writes, 43-62 s before the run
# starts (benchmarks/reports/full_graph.md). Trade-off documented by Dagster: if such a run fails, its
# partitions show as missing, not failed, in the UI; the run itself is still marked failed.
PLAN_PER_DAY_UP_TO_DAYS = 31
_SUBSET_PLANNED_EVENTS = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"


@contextlib.contextmanager
def _planned_events_for(partition_range: tuple[str, str] | None) -> Iterator[None]:
    days = (date.fromisoformat(partition_range[1]) - date.fromisoformat(partition_range[0])).days + 1 \
        if partition_range else 0
    if days <= PLAN_PER_DAY_UP_TO_DAYS or os.environ.get(_SUBSET_PLANNED_EVENTS) is not None:
        yield
        return
    os.environ[_SUBSET_PLANNED_EVENTS] = "true"
    try:
        yield
    finally:
        os.environ.pop(_SUBSET_PLANNED_EVENTS, None)


@dataclass(frozen=True)
class RunSummary:
    run_id: str
    success: bool
    selection: str
    failed_checks: list[str]


def materialize(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    selection: str | dg.AssetSelection,
    partition_range: tuple[str, str] | None = None,
    raise_on_error: bool = False,
    log_level: str = "INFO",
    asset_config: dict[str, dict] | None = None,
    progress: Say | None = None,
) -> RunSummary:
    """Run one in-process materialisation of ``selection`` (an asset selection string or object).

    ``partition_range`` runs the partitioned assets of the selection over first..last as one run
    (their backfill policy is single-run); unpartitioned assets in the selection run once.
    """
    # The resolved graph's assets already carry the Definitions' resources. Check-only definitions
    # (freshness) are left to their sensor: they judge wall-clock arrival, not this run's data.
    graph = defs.resolve_asset_graph()
    assets = [a for a in graph.assets_defs if a.is_executable and a.keys]
    resolved = (
        dg.AssetSelection.from_string(selection) if isinstance(selection, str) else selection
    )
    tags = {}
    if partition_range:
        tags = {ASSET_PARTITION_RANGE_START_TAG: partition_range[0], ASSET_PARTITION_RANGE_END_TAG: partition_range[1]}
    handler = None
    if progress is not None:
        planned = [key for key in resolved.resolve(graph) if graph.get(key).is_executable]
        handler = RunProgress(progress, planned, running_ui_url())
    with _planned_events_for(partition_range):
        result = _materialize(assets, resolved, instance, tags, raise_on_error, log_level, asset_config, handler)
    if handler is not None and progress is not None:  # handler exists only with progress
        progress(handler.summary())
    failed = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    return RunSummary(result.run_id, result.success, str(selection), failed)


def _materialize(
    assets: list, selection: dg.AssetSelection, instance: dg.DagsterInstance, tags: dict[str, str],
    raise_on_error: bool, log_level: str, asset_config: dict[str, dict] | None, handler: RunProgress | None,
) -> dg.ExecuteInProcessResult:
    """``dg.materialize`` with one more logger when progress lines are wanted (it takes no loggers)."""
    loggers: dict[str, Any] = {"console": {"config": {"log_level": log_level}}}
    logger_defs = dict(dg.default_loggers())
    if handler is not None:
        logger_defs["progress"] = progress_logger(handler)
        loggers["progress"] = {}
    defs = dg.Definitions(
        assets=assets, jobs=[dg.define_asset_job(EPHEMERAL_JOB_NAME, selection=selection)], loggers=logger_defs,
    )
    return defs.resolve_job_def(EPHEMERAL_JOB_NAME).execute_in_process(
        run_config={
            "loggers": loggers,
            **({"ops": {op: {"config": values} for op, values in asset_config.items()}} if asset_config else {}),
        },
        instance=instance,
        tags=tags,
        raise_on_error=raise_on_error,
    )
