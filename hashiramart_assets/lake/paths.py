"""Where each table lives on the lake, so assets, Spark jobs and tests agree on one layout.

Layout under the lake root (a local folder by default, ``hdfs://`` in production)::

    raw/<table>/part.parquet                    customers, products
    raw/<table>/date=YYYY-MM-DD/part.parquet    orders, events (daily partitions)
    raw/_days/<table>/date=YYYY-MM-DD.json      the day's status: trading, closed or rejected (and why)
    quarantine/<table>/date=YYYY-MM-DD/part.parquet   rows the raw layer rejected, with a reason
    features/<name>/                            Spark output (a Parquet dataset folder)
"""

from __future__ import annotations


def join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *(p.strip("/") for p in parts)])


def raw_table(root: str, table: str) -> str:
    return join(root, "raw", table)


def raw_file(root: str, table: str) -> str:
    return join(root, "raw", table, "part.parquet")


def raw_day_dir(root: str, table: str, day: str) -> str:
    return join(root, "raw", table, f"date={day}")


def raw_day_file(root: str, table: str, day: str) -> str:
    return join(raw_day_dir(root, table, day), "part.parquet")


def quarantine_day_file(root: str, table: str, day: str) -> str:
    return join(root, "quarantine", table, f"date={day}", "part.parquet")


def quarantine_file(root: str, table: str) -> str:
    return join(root, "quarantine", table, "part.parquet")


def day_status_dir(root: str, table: str) -> str:
    return join(root, "raw", "_days", table)


def day_status_file(root: str, table: str, day: str) -> str:
    return join(day_status_dir(root, table), f"date={day}.json")


def feature_dir(root: str, name: str) -> str:
    return join(root, "features", name)
