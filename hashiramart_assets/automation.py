"""Jobs, schedules and sensors: how the graph runs without anyone clicking."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

RAW_AND_FEATURES = dg.AssetSelection.groups("raw", "features")

FRESHNESS_LIMIT = timedelta(hours=26)  # a daily pipeline that missed a day shows as stale


def build_freshness_checks(assets: list[dg.AssetsDefinition]) -> list[dg.AssetChecksDefinition]:
    """Warn (not block) when a raw or feature asset has not been materialised within a day."""
    unpartitioned = [a for a in assets if a.partitions_def is None]
    return list(
        dg.build_last_update_freshness_checks(assets=unpartitioned, lower_bound_delta=FRESHNESS_LIMIT)
    )


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
