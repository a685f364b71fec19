"""Feature layer: Spark jobs over the raw lake tables (thin glue over spark/features.py)."""

# No `from __future__ import annotations` here: Dagster resolves Config/resource types from real annotations.


import dagster as dg
import pandera.pandas as pa
from pyspark.sql import DataFrame

from hashiramart_assets import keys
from hashiramart_assets.assets.raw import previous_row_count
from hashiramart_assets.automation import FRESHNESS
from hashiramart_assets.checks import schemas
from hashiramart_assets.checks.feature_checks import feature_check_specs, schema_result, volume_result
from hashiramart_assets.compat import RawMetadataValue
from hashiramart_assets.lake import store
from hashiramart_assets.resources.lake import LakeResource
from hashiramart_assets.resources.spark import SparkResource
from hashiramart_assets.spark import features as spark_features

GROUP = "features"
RAW_ORDERS = keys.RAW_ORDERS
RAW_EVENTS = keys.RAW_EVENTS
RAW_CUSTOMERS = keys.RAW_CUSTOMERS
RAW_PRODUCTS = keys.RAW_PRODUCTS


class InteractionsConfig(dg.Config):
    """Weights of each kind of implicit feedback and the half-life of their decay."""

    view_weight: float = 1.0
    cart_weight: float = 3.0
    purchase_weight: float = 5.0
    half_life_days: float = 60.0


def _read(spark: SparkResource, lake: LakeResource, table: str) -> DataFrame:
    uri = lake.raw_table(table)
    if not store.exists(uri):
        raise dg.Failure(f"raw/{table} has nothing on the lake at {uri}: materialise raw/{table} first")
    return spark_features.read_raw(spark.spark_session, uri)


def _write_and_check(
    context: dg.AssetExecutionContext,
    df: DataFrame,
    out_uri: str,
    schema: pa.DataFrameSchema,
    extra: dict[str, RawMetadataValue],
) -> dg.MaterializeResult:
    df.coalesce(4).write.mode("overwrite").parquet(out_uri)
    written = store.read_parquet(out_uri)
    version = store.frame_hash(written)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": len(written),
            "lake_location": dg.MetadataValue.path(out_uri),
            "data_version": version,
            **extra,
        },
        check_results=[
            schema_result(schema, written),
            volume_result(len(written), previous_row_count(context)),
        ],
        data_version=dg.DataVersion(version),
    )


def _key(name: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, name])


@dg.asset(
    key=_key("interactions"),
    group_name=GROUP,
    freshness_policy=FRESHNESS,
    pool="spark",  # dagster.yaml: one Spark step at a time per deployment
    deps=[RAW_ORDERS, RAW_EVENTS],
    check_specs=feature_check_specs(_key("interactions")),
    kinds={"spark", "parquet"},
    description="Customer x product implicit-feedback weights from views, carts and purchases, time-decayed.",
)
def interactions(
    context: dg.AssetExecutionContext, config: InteractionsConfig, lake: LakeResource, spark: SparkResource
) -> dg.MaterializeResult:
    orders, events = _read(spark, lake, "orders"), _read(spark, lake, "events")
    as_of = spark_features.as_of_date(orders, events)
    weights = spark_features.InteractionWeights(
        config.view_weight, config.cart_weight, config.purchase_weight, config.half_life_days
    )
    df = spark_features.build_interactions(orders, events, as_of, weights)
    return _write_and_check(
        context, df, lake.feature_dir("interactions"), schemas.interactions_schema(),
        {"as_of": str(as_of), "half_life_days": config.half_life_days},
    )


@dg.asset(
    key=_key("customer_rfm"),
    group_name=GROUP,
    freshness_policy=FRESHNESS,
    pool="spark",  # dagster.yaml: one Spark step at a time per deployment
    deps=[RAW_CUSTOMERS, RAW_ORDERS, RAW_EVENTS],
    check_specs=feature_check_specs(_key("customer_rfm")),
    kinds={"spark", "parquet"},
    description="Recency, frequency, monetary value, tenure and segment per customer.",
)
def customer_rfm(
    context: dg.AssetExecutionContext, lake: LakeResource, spark: SparkResource
) -> dg.MaterializeResult:
    customers, orders = _read(spark, lake, "customers"), _read(spark, lake, "orders")
    events = _read(spark, lake, "events")
    as_of = spark_features.as_of_date(orders, events)
    df = spark_features.build_customer_rfm(customers, orders, as_of)
    return _write_and_check(
        context, df, lake.feature_dir("customer_rfm"), schemas.customer_rfm_schema(), {"as_of": str(as_of)}
    )


@dg.asset(
    key=_key("daily_sales"),
    group_name=GROUP,
    freshness_policy=FRESHNESS,
    pool="spark",  # dagster.yaml: one Spark step at a time per deployment
    deps=[RAW_ORDERS, RAW_PRODUCTS],
    check_specs=feature_check_specs(_key("daily_sales")),
    kinds={"spark", "parquet"},
    description="Per day x product (with category): units, revenue, promo share, prices, calendar.",
)
def daily_sales(
    context: dg.AssetExecutionContext, lake: LakeResource, spark: SparkResource
) -> dg.MaterializeResult:
    orders, products = _read(spark, lake, "orders"), _read(spark, lake, "products")
    df = spark_features.build_daily_sales(orders, products)
    return _write_and_check(
        context, df, lake.feature_dir("daily_sales"), schemas.daily_sales_schema(), {}
    )


FEATURE_ASSETS = [interactions, customer_rfm, daily_sales]
