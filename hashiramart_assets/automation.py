"""Jobs, schedules and sensors: how the graph runs without anyone clicking."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

RAW_AND_FEATURES = dg.AssetSelection.groups("raw", "features")

FRESHNESS_LIMIT = timedelta(hours=26)  # a daily pipeline that missed a day shows as stale


DAILY_DEADLINE_CRON = "0 6 * * *"  # yesterday's partition must be in by 06:00 UTC


def build_freshness_checks(assets: list[dg.AssetsDefinition]) -> list[dg.AssetChecksDefinition]:
    """Warn (not block) when data stops arriving: a day's partition missing by the deadline, or an
    unpartitioned raw/feature table not refreshed within a day."""
    unpartitioned = [a for a in assets if a.partitions_def is None]
    daily = [a for a in assets if isinstance(a.partitions_def, dg.TimeWindowPartitionsDefinition)]
    return [
        *dg.build_last_update_freshness_checks(assets=unpartitioned, lower_bound_delta=FRESHNESS_LIMIT),
        *dg.build_time_partition_freshness_checks(assets=daily, deadline_cron=DAILY_DEADLINE_CRON),
    ]


def build_freshness_sensor(checks: list[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    """Evaluates the freshness checks periodically (the daemon runs it under `hashiramart ui`)."""
    return dg.build_sensor_for_freshness_checks(freshness_checks=checks, name="freshness_checks_sensor")


def build_jobs(partitions_def: dg.PartitionsDefinition) -> list[dg.UnresolvedAssetJobDefinition]:
    daily = dg.define_asset_job(
        "daily_raw_ingest",
        selection=dg.AssetSelection.keys(["raw", "orders"], ["raw", "events"]),
        partitions_def=partitions_def,
        description="Ingest one day (or a range, as one run) of orders and events into the raw layer.",
    )
    refresh = dg.define_asset_job(
        "refresh_dimensions_and_features",
        selection=dg.AssetSelection.keys(["raw", "customers"], ["raw", "products"])
        | dg.AssetSelection.groups("features"),
        description="Re-ingest the dimension tables and recompute every Spark feature table.",
    )
    return [daily, refresh]
