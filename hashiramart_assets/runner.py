"""Materialise assets in-process against the persistent Dagster instance (CLI and demo).

Why in-process: ``hashiramart materialize`` and the demo must work without a running daemon or UI,
yet every run must be recorded in the same instance the UI shows, so lineage and history are one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from hashiramart_assets.settings import Settings

INSTANCE_YAML = """\
# Embedded default written by hashiramart: SQLite storage under DAGSTER_HOME.
# Production storage (Postgres) is configured by the repository's dagster.yaml.
telemetry:
  enabled: false
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
    if not config.exists():
        config.write_text(INSTANCE_YAML)
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
    with _planned_events_for(partition_range):
        result = _materialize(assets, resolved, instance, tags, raise_on_error, log_level, asset_config)
    failed = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    return RunSummary(result.run_id, result.success, str(selection), failed)


def _materialize(
    assets: list, selection: dg.AssetSelection, instance: dg.DagsterInstance, tags: dict[str, str],
    raise_on_error: bool, log_level: str, asset_config: dict[str, dict] | None,
) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        assets,
        run_config={
            "loggers": {"console": {"config": {"log_level": log_level}}},
            **({"ops": {op: {"config": values} for op, values in asset_config.items()}} if asset_config else {}),
        },
        instance=instance,
        selection=selection,
        tags=tags,
        raise_on_error=raise_on_error,
    )
