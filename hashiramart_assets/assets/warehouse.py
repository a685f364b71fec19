"""Warehouse load: raw and feature tables from the lake into Postgres (thin glue over warehouse/load.py)."""

# No `from __future__ import annotations`: Dagster reads the context annotation at definition time.

import dagster as dg

from hashiramart_assets import keys
from hashiramart_assets.automation import FRESHNESS
from hashiramart_assets.lake import paths, store
from hashiramart_assets.resources.lake import LakeResource
from hashiramart_assets.resources.postgres import PostgresResource
from hashiramart_assets.warehouse import load
from hashiramart_assets.warehouse.load import WarehouseUnreachable

GROUP = "warehouse"
DAILY_TS = {"orders": "order_ts", "events": "event_ts"}


def _url(postgres: PostgresResource) -> str:
    try:
        return postgres.get_url()
    except Exception as exc:  # embedded server failed to start: say where and how to configure
        raise dg.Failure(f"Postgres for the warehouse is not available: {exc}") from exc


def _fail_unreachable(exc: WarehouseUnreachable) -> dg.Failure:
    return dg.Failure(str(exc))


def _table_asset(name: str, schema: str, upstream: dg.AssetKey, lake_uri) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey([GROUP, f"{schema}_{name}"]),
        group_name=GROUP,
        freshness_policy=FRESHNESS,
        deps=[upstream],
        kinds={"postgres"},
        description=f"{upstream.to_user_string()} copied into Postgres table {schema}.{name}.",
    )
    def _asset(lake: LakeResource, postgres: PostgresResource) -> dg.MaterializeResult:
        df = store.read_parquet(lake_uri(lake))
        try:
            rows = load.replace_table(_url(postgres), schema, name, df)
        except WarehouseUnreachable as exc:
            raise _fail_unreachable(exc) from exc
        return dg.MaterializeResult(metadata={"dagster/row_count": rows, "table": f"{schema}.{name}"})

    return _asset


def _daily_asset(table: str, partitions_def: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey([GROUP, f"raw_{table}"]),
        group_name=GROUP,
        freshness_policy=FRESHNESS,
        deps=[dg.AssetKey(["raw", table])],
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        kinds={"postgres"},
        description=f"raw/{table} copied into Postgres raw.{table}, one day at a time (a re-load replaces it).",
    )
    def _asset(context: dg.AssetExecutionContext, lake: LakeResource, postgres: PostgresResource):
        def frames():
            for day in context.partition_keys:
                uri = paths.raw_day_file(lake.root, table, day)
                if store.exists(uri):
                    yield day, store.read_parquet(uri)

        try:
            loaded = load.replace_days(_url(postgres), "raw", table, frames(), DAILY_TS[table])
        except WarehouseUnreachable as exc:
            raise _fail_unreachable(exc) from exc
        return dg.MaterializeResult(
            metadata={"dagster/row_count": sum(loaded.values()), "days_loaded": len(loaded), "table": f"raw.{table}"}
        )

    return _asset


def build_warehouse_assets(partitions_def: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [
        _table_asset("customers", "raw", keys.RAW_CUSTOMERS,
                     lambda lake: paths.raw_file(lake.root, "customers")),
        _table_asset("products", "raw", keys.RAW_PRODUCTS,
                     lambda lake: paths.raw_file(lake.root, "products")),
        _table_asset("customer_rfm", "features", keys.FEATURES_CUSTOMER_RFM,
                     lambda lake: lake.feature_dir("customer_rfm")),
        _daily_asset("orders", partitions_def),
        _daily_asset("events", partitions_def),
    ]
