"""Feature tables computed with Spark from the raw lake tables (plain functions, no Dagster).

Each builder takes DataFrames and returns a DataFrame, so the same code runs in local mode, on a
standalone cluster, and in tests. ``as_of`` is the newest day in the data, not the wall clock, so the
same raw data always gives the same features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.window import Window


@dataclass(frozen=True)
class InteractionWeights:
    """How much each kind of implicit feedback counts, and how fast it fades."""

    view: float = 1.0
    add_to_cart: float = 3.0
    purchase: float = 5.0
    half_life_days: float = 60.0


def read_raw(spark: SparkSession, table_uri: str) -> DataFrame:
    """Read a raw table; daily tables keep their ``date`` partition column."""
    return spark.read.option("basePath", table_uri).parquet(table_uri)


def as_of_date(orders: DataFrame, events: DataFrame) -> date:
    """The newest day present in orders or events, used as "today" for decay and recency.

    Read from the ``date`` partition column, so Spark scans no data columns for it.
    """
    newest = orders.select(F.max("date").alias("d")).union(events.select(F.max("date").alias("d")))
    row = newest.agg(F.max("d")).first()
    assert row is not None  # an aggregate without grouping has exactly one row
    return row[0]


def _decay(ts_col: str, as_of: date, half_life_days: float) -> F.Column:
    age_days = F.greatest(F.datediff(F.lit(as_of), F.to_date(ts_col)), F.lit(0))
    return F.exp(-F.lit(math.log(2) / half_life_days) * age_days)


def build_interactions(
    orders: DataFrame, events: DataFrame, as_of: date, weights: InteractionWeights = InteractionWeights()
) -> DataFrame:
    """Customer x product implicit feedback: decayed, weighted views + carts + purchased units.

    Purchases come from order lines (quantity, returns excluded) rather than purchase events, so a
    source without a clickstream (a shop's order export) still gives interactions, and a purchase is
    not counted twice.
    """
    event_part = events.where(F.col("event_type").isin("view", "add_to_cart")).select(
        "customer_id",
        "product_id",
        F.col("event_ts").cast("timestamp").alias("ts"),
        (F.col("event_type") == "view").cast("long").alias("views"),
        (F.col("event_type") == "add_to_cart").cast("long").alias("carts"),
        F.lit(0).cast("long").alias("purchases"),
        F.when(F.col("event_type") == "view", F.lit(weights.view))
        .otherwise(F.lit(weights.add_to_cart))
        .alias("base"),
    )
    order_part = orders.where(~F.col("is_return") & (F.col("quantity") > 0)).select(
        "customer_id",
        "product_id",
        F.col("order_ts").cast("timestamp").alias("ts"),
        F.lit(0).cast("long").alias("views"),
        F.lit(0).cast("long").alias("carts"),
        F.col("quantity").cast("long").alias("purchases"),
        (F.lit(weights.purchase) * F.log1p(F.col("quantity").cast("double"))).alias("base"),
    )
    both = event_part.unionByName(order_part)
    return (
        both.withColumn("w", F.col("base") * _decay("ts", as_of, weights.half_life_days))
        .groupBy("customer_id", "product_id")
        .agg(
            F.sum("w").alias("weight"),
            F.sum("views").alias("views"),
            F.sum("carts").alias("carts"),
            F.sum("purchases").alias("purchases"),
            F.max("ts").cast("timestamp_ntz").alias("last_interaction_ts"),
        )
        .where(F.col("weight") > 0)
    )


def build_customer_rfm(customers: DataFrame, orders: DataFrame, as_of: date) -> DataFrame:
    """Recency, frequency, monetary value and tenure per customer, with a 3..15 RFM score.

    Customers who never bought keep a row (recency null, frequency 0) so downstream joins see
    every customer; the score ranks buyers only.
    """
    bought = orders.where(~F.col("is_return") & (F.col("quantity") > 0))
    per_customer = bought.groupBy("customer_id").agg(
        F.max(F.to_date("order_ts")).alias("last_order_date"),
        F.countDistinct("order_id").alias("frequency"),
        F.sum(F.col("quantity") * F.col("unit_price")).alias("monetary"),
    )
    joined = customers.select(
        "customer_id", F.to_date("signup_date").alias("signup_date"), "segment"
    ).join(per_customer, "customer_id", "left")
    base = joined.select(
        "customer_id",
        F.datediff(F.lit(as_of), F.col("last_order_date")).cast("long").alias("recency_days"),
        F.coalesce(F.col("frequency"), F.lit(0)).cast("long").alias("frequency"),
        F.round(F.coalesce(F.col("monetary"), F.lit(0.0)), 2).cast("double").alias("monetary"),
        F.greatest(F.datediff(F.lit(as_of), F.col("signup_date")), F.lit(0)).cast("long").alias("tenure_days"),
        "segment",
    )
    buyers = base.where(F.col("frequency") > 0)
    scored = buyers.select(
        "customer_id",
        (
            F.ntile(5).over(Window.orderBy(F.col("recency_days").desc(), "customer_id"))
            + F.ntile(5).over(Window.orderBy("frequency", "customer_id"))
            + F.ntile(5).over(Window.orderBy("monetary", "customer_id"))
        )
        .cast("long")
        .alias("rfm_score"),
    )
    return base.join(scored, "customer_id", "left")


def build_daily_sales(orders: DataFrame, products: DataFrame) -> DataFrame:
    """Per day x product: units, returns, revenue, orders, promo share, prices and calendar fields."""
    lines = orders.select(
        F.to_date("order_ts").alias("date"),
        "product_id",
        "order_id",
        "quantity",
        "unit_price",
        "list_price",
        "promo",
        "is_return",
    )
    sale = ~F.col("is_return") & (F.col("quantity") > 0)
    sold_units = F.when(sale, F.col("quantity")).otherwise(0)
    agg = lines.groupBy("date", "product_id").agg(
        F.sum(sold_units).cast("long").alias("units"),
        F.sum(F.when(F.col("is_return"), -F.col("quantity")).otherwise(0)).cast("long").alias("return_units"),
        F.round(F.sum(F.when(sale, F.col("quantity") * F.col("unit_price")).otherwise(0.0)), 2)
        .cast("double")
        .alias("revenue"),
        F.countDistinct(F.when(sale, F.col("order_id"))).cast("long").alias("orders"),
        F.sum(F.when(sale & F.col("promo"), F.col("quantity")).otherwise(0)).alias("promo_units"),
        F.avg(F.when(sale, F.col("list_price"))).alias("list_price"),
    )
    dims = products.select("product_id", "category", "department")
    return (
        agg.join(dims, "product_id", "left")
        .select(
            F.col("date").cast("timestamp_ntz").alias("date"),
            "product_id",
            F.coalesce("category", F.lit("unknown")).alias("category"),
            F.coalesce("department", F.lit("unknown")).alias("department"),
            "units",
            "return_units",
            "revenue",
            "orders",
            F.when(F.col("units") > 0, F.col("promo_units") / F.col("units"))
            .otherwise(0.0)
            .cast("double")
            .alias("promo_share"),
            F.when(F.col("units") > 0, F.round(F.col("revenue") / F.col("units"), 4))
            .cast("double")
            .alias("avg_price"),
            F.round("list_price", 4).cast("double").alias("list_price"),
            F.dayofweek("date").cast("int").alias("day_of_week"),
            F.month("date").cast("int").alias("month"),
            F.dayofweek("date").isin(1, 7).alias("is_weekend"),
        )
    )
