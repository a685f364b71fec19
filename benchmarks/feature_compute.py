"""Time only the feature computation (engine already started) for Spark or DuckDB; print JSON.

Run by bench_raw_features.py in its own process per engine, so memory is measured separately.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def spark_compute(lake: str, out: str) -> dict[str, float]:
    started = time.monotonic()
    from pyspark.sql import SparkSession

    from hashiramart_assets.services.java import configure_spark_java
    from hashiramart_assets.settings import load_settings
    from hashiramart_assets.spark import features as F
    from hashiramart_assets.spark.session import spark_config

    configure_spark_java(load_settings().home / "java")
    spark = SparkSession.builder.config(map=spark_config("local[*]")).getOrCreate()
    spark.range(1).count()
    startup = time.monotonic() - started
    t0 = time.monotonic()
    orders, events = F.read_raw(spark, f"{lake}/raw/orders"), F.read_raw(spark, f"{lake}/raw/events")
    customers, products = F.read_raw(spark, f"{lake}/raw/customers"), F.read_raw(spark, f"{lake}/raw/products")
    as_of = F.as_of_date(orders, events)
    F.build_interactions(orders, events, as_of).coalesce(4).write.mode("overwrite").parquet(f"{out}/interactions")
    F.build_customer_rfm(customers, orders, as_of).coalesce(4).write.mode("overwrite").parquet(f"{out}/rfm")
    F.build_daily_sales(orders, products).coalesce(4).write.mode("overwrite").parquet(f"{out}/daily_sales")
    compute = time.monotonic() - t0
    spark.stop()
    return {"startup_s": round(startup, 1), "compute_s": round(compute, 1)}


def duckdb_compute(lake: str, out: str) -> dict[str, float]:
    from benchmarks.duckdb_features import build_all

    Path(out).mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    build_all(lake, out)
    return {"startup_s": 0.0, "compute_s": round(time.monotonic() - t0, 1)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("engine", choices=["spark", "duckdb"])
    parser.add_argument("lake")
    parser.add_argument("out")
    args = parser.parse_args()
    run = spark_compute if args.engine == "spark" else duckdb_compute
    print(json.dumps(run(args.lake, args.out)))
