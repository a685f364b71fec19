"""Materialise assets in-process against the persistent Dagster instance (CLI and demo).

Why in-process: ``hashiramart materialize`` and the demo must work without a running daemon or UI,
yet every run must be recorded in the same instance the UI shows, so lineage and history are one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
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
    result = dg.materialize(
        assets,
        run_config={
            "loggers": {"console": {"config": {"log_level": log_level}}},
            **({"ops": {op: {"config": values} for op, values in asset_config.items()}} if asset_config else {}),
        },
        instance=instance,
        selection=resolved,
        tags=tags,
        raise_on_error=raise_on_error,
    )
    failed = [
        f"{e.asset_key.to_user_string()}:{e.check_name}"
        for e in result.get_asset_check_evaluations()
        if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
    ]
    return RunSummary(result.run_id, result.success, str(selection), failed)
