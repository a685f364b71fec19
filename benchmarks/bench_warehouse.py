"""Benchmark: warehouse load + dbt build over ~1M order lines, then the incremental run of one new day.

Usage::

    .venv/bin/python benchmarks/bench_warehouse.py --events 10000000

Steps (each the real CLI in its own process): generate N events (10M gives ~1M order lines) over
365 days and hold back the last day; raw + features; full warehouse + dbt build; then land the held-back
day (generated with the same rate, so earlier days are unchanged) and materialise only it. Target: the
new day costs <= 10 % of the full build. Writes benchmarks/reports/warehouse.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_raw_features import BIN, REPORTS, measure

WAREHOUSE = "group:warehouse or group:staging or group:marts"
ONE_DAY = "key:warehouse/raw_orders or key:warehouse/raw_events or group:staging or group:marts"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="hm-bench-wh-", dir="/tmp"))
    home.chmod(0o755)
    env = {**os.environ, "HASHIRAMART_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("DAGSTER_HOME", None)
    cli = str(BIN / "hashiramart")
    start, days = date(2025, 1, 1), 365
    first_events = args.events * (days - 1) // days
    result: dict[str, object] = {"events": args.events}
    try:
        result["generate"] = measure([cli, "generate", "--events", str(first_events), "--days", str(days - 1)], env)
        last = str(start + timedelta(days=days - 2))
        result["raw_and_features"] = measure(
            [cli, "materialize", "group:raw or group:features", "--partition", f"{start}..{last}"], env)
        result["full_build"] = measure([cli, "materialize", WAREHOUSE, "--partition", f"{start}..{last}"], env)
        result["order_lines"] = sum(
            pq.ParquetFile(f).metadata.num_rows for f in (home / "lake" / "raw" / "orders").glob("*/part.parquet")
        )
        new_day = str(start + timedelta(days=days - 1))
        measure([cli, "generate", "--events", str(first_events * days // (days - 1)), "--days", str(days)], env)
        measure([cli, "materialize", "key:raw/orders or key:raw/events", "--partition", new_day], env)
        result["one_new_day"] = measure([cli, "materialize", ONE_DAY, "--partition", new_day], env)
        full, day = result["full_build"]["seconds"], result["one_new_day"]["seconds"]  # type: ignore[index]
        result["new_day_share_of_full"] = round(day / full, 3)
    finally:
        measure([cli, "services", "stop"], env)
        shutil.rmtree(home, ignore_errors=True)
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "warehouse.json").write_text(json.dumps(result, indent=2))
    r = result
    (REPORTS / "warehouse.md").write_text("\n".join([
        "# Warehouse load + dbt build benchmark",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_warehouse.py --events {args.events}` on {os.cpu_count()} cores.",
        "Each step is the real CLI (a Dagster run incl. checks and dbt tests) in its own process.",
        "Target: one new day <= 10 % of the full build.",
        "",
        "| order lines | full load + dbt build s (peak MB) | one new day s (peak MB) | new day / full |",
        "|---|---|---|---|",
        f"| {r['order_lines']:,} | {r['full_build']['seconds']} ({r['full_build']['peak_rss_mb']}) | "  # type: ignore[index]
        f"{r['one_new_day']['seconds']} ({r['one_new_day']['peak_rss_mb']}) | {r['new_day_share_of_full']} |",  # type: ignore[index]
        "",
        f"Setup: generate {r['generate']['seconds']} s, raw + features {r['raw_and_features']['seconds']} s.",  # type: ignore[index]
    ]) + "\n")
    print((REPORTS / "warehouse.md").read_text())


if __name__ == "__main__":
    main()
