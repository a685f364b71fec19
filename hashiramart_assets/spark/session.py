"""Spark session settings that suit this platform, whatever the master.

Why here and not in the resource: benchmarks and tests build sessions without Dagster and must get the
same configuration (UTC session time, few shuffle partitions for small data, driver memory).
"""

from __future__ import annotations

from typing import Any

LOOPBACK = "127.0.0.1"


def spark_config(
    master: str, driver_memory: str = "4g", shuffle_partitions: int = 8, driver_host: str = LOOPBACK
) -> dict[str, Any]:
    """``driver_host`` is the name executors reach the driver by: loopback on one machine, the
    container's name in docker-compose (SPARK_DRIVER_HOST), where the driver then listens on all interfaces."""
    return {
        "spark.master": master,
        "spark.app.name": "hashiramart",
        "spark.driver.memory": driver_memory,
        "spark.driver.host": driver_host,
        "spark.driver.bindAddress": LOOPBACK if driver_host == LOOPBACK else "0.0.0.0",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.shuffle.partitions": str(shuffle_partitions),
        "spark.sql.adaptive.enabled": "true",
        "spark.ui.enabled": "false",
        "spark.log.level": "ERROR",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.parquet.int96RebaseModeInWrite": "CORRECTED",
        "spark.sql.parquet.datetimeRebaseModeInWrite": "CORRECTED",
    }
