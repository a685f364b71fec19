"""Jobs, schedules and sensors: how the graph runs without anyone clicking."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

RAW_AND_FEATURES = dg.AssetSelection.groups("raw", "features")

# Data should arrive daily: warn after 26 h without a materialisation, fail after 50 h. Dagster evaluates
# these policies itself (no sensor needed) and shows them in the UI.
FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=50), warn_window=timedelta(hours=26))


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
