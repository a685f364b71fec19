"""Failures scoped to the days they touch, through a real Dagster run of the raw assets.

One bad day inside a 30-day backfill: it is quarantined and reported by day, the checks fail as warnings,
and what is downstream still runs on the good days. The same bad day alone in a one-day run blocks.
"""

from pathlib import Path

import dagster as dg
import pandas as pd
import pytest

from hashiramart_assets import landing
from hashiramart_assets.assets.raw import RawPolicy, build_raw_assets
from hashiramart_assets.compat import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from hashiramart_assets.ingest import raw_tables
from hashiramart_assets.ingest.raw_tables import VolumeRule
from hashiramart_assets.resources.lake import LakeResource
from hashiramart_assets.trading_calendar import date_range
from tests.unit.test_raw_calendar import orders

FIRST, LAST, BAD = "2025-03-01", "2025-03-30", "2025-03-19"
PARTITIONS = dg.DailyPartitionsDefinition(start_date=FIRST, end_date="2025-03-31")


@dg.asset(deps=[dg.AssetKey(["raw", "orders"])], partitions_def=PARTITIONS,
          backfill_policy=dg.BackfillPolicy.single_run())
def downstream(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Stands in for features/warehouse: it must run when the raw failures were scoped, not when they block."""
    return dg.MaterializeResult(metadata={"days": len(context.partition_keys)})


@pytest.fixture
def lake(tmp_path: Path) -> LakeResource:
    landing_dir = tmp_path / "landing"
    landing.write_table(landing_dir, "customers", pd.DataFrame({
        "customer_id": [1, 2, 3], "signup_date": pd.Timestamp("2025-01-01"), "segment": "consumer",
        "region": "Kanto", "country": "JP"}))
    landing.write_table(landing_dir, "products", pd.DataFrame({
        "product_id": ["P1", "P2"], "name": ["a", "b"], "department": "D", "category": "C",
        "category_path": "D > C", "base_price": 2.5, "launch_date": pd.Timestamp("2025-01-01")}))
    for day in date_range(FIRST, LAST):
        landing.write_day(landing_dir, "orders", day, orders(str(day), 20 if str(day) == BAD else 300))
    return LakeResource(root=str(tmp_path / "lake"), landing_dir=str(landing_dir))


def _run(lake: LakeResource, first: str, last: str) -> dg.ExecuteInProcessResult:
    policy = RawPolicy(volume=VolumeRule(min_ratio=0.3, lookback_weeks=4), max_rejected_day_share=0.1)
    assets = [a for a in build_raw_assets(PARTITIONS, policy) if a.key.path[-1] != "events"]
    return dg.materialize(
        [*assets, downstream], resources={"lake": lake}, instance=dg.DagsterInstance.ephemeral(),
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last}, raise_on_error=False,
        selection=dg.AssetSelection.keys(["raw", "orders"], ["downstream"], ["raw", "customers"], ["raw", "products"]),
    )


def _volume(result: dg.ExecuteInProcessResult) -> dg.AssetCheckEvaluation:
    return next(e for e in result.get_asset_check_evaluations()
                if e.asset_key == dg.AssetKey(["raw", "orders"]) and e.check_name == "volume")


def test_one_bad_day_in_a_backfill_is_quarantined_and_the_good_days_flow_on(lake):
    result = _run(lake, FIRST, LAST)
    assert result.success
    volume = _volume(result)
    assert not volume.passed and volume.severity == dg.AssetCheckSeverity.WARN
    assert f"orders[{BAD}]" in volume.description and "truncated: 20 rows" in volume.description
    compared = volume.metadata["compared_against"].value
    assert compared[f"orders[{BAD}]"]["compared_with"] == {"2025-03-05": [300, 300], "2025-03-12": [300, 300]}
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "downstream" in materialized  # the warning did not block
    raw = next(e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(["raw", "orders"]))
    meta = raw.materialization.metadata
    assert (meta["trading_days"].value, meta["rejected_days"].value) == (29, 1)
    assert meta["input_rows"].value == 29 * 300 + 20 == meta["accepted_rows"].value + meta["quarantined_rows"].value
    assert raw_tables.rejected_days(lake.root) == {BAD: volume.description.split(": ", 1)[1]}


def test_the_same_bad_day_alone_blocks_what_is_downstream(lake):
    assert _run(lake, FIRST, "2025-03-18").success
    result = _run(lake, BAD, BAD)
    volume = _volume(result)
    assert not volume.passed and volume.severity == dg.AssetCheckSeverity.ERROR
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "downstream" not in materialized
