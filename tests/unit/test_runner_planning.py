"""Long ranged runs plan each asset once (a partition subset), short ones per day (full failure marking).

No `from __future__ import annotations` here: Dagster inspects the asset's context annotation at runtime.
"""

import os
from datetime import date, timedelta

import dagster as dg

from hashiramart_assets.runner import PLAN_PER_DAY_UP_TO_DAYS, materialize

DAILY = dg.DailyPartitionsDefinition(start_date="2025-01-01")


@dg.asset(partitions_def=DAILY, backfill_policy=dg.BackfillPolicy.single_run())
def sales(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"days": len(context.partition_keys)})


def _planned(instance: dg.DagsterInstance, run_id: str) -> list:
    return [e.dagster_event.event_specific_data for e in instance.all_logs(
        run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED)]


def test_a_year_is_planned_as_one_subset_event_and_a_week_per_day():
    defs = dg.Definitions(assets=[sales])
    with dg.DagsterInstance.ephemeral() as instance:
        year = materialize(defs, instance, "*", partition_range=("2025-01-01", "2025-12-31"))
        week = materialize(defs, instance, "*", partition_range=("2026-01-01", "2026-01-07"))
        assert year.success and week.success
        (subset,) = _planned(instance, year.run_id)
        assert subset.partition is None and len(subset.partitions_subset.get_partition_keys()) == 365
        assert sorted(p.partition for p in _planned(instance, week.run_id)) == [
            f"2026-01-0{d}" for d in range(1, 8)]
        # the limit is inclusive, and the setting does not leak out of the run
        last = date(2026, 2, 1) + timedelta(days=PLAN_PER_DAY_UP_TO_DAYS - 1)
        edge = materialize(defs, instance, "*", partition_range=("2026-02-01", str(last)))
        assert len(_planned(instance, edge.run_id)) == PLAN_PER_DAY_UP_TO_DAYS
    assert "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS" not in os.environ
