"""Benchmark: warehouse load + dbt build over ~1M order lines, then the incremental run of one new day.

Usage::

    .venv/bin/python benchmarks/bench_warehouse.py --events 10000000

Steps (each the real CLI in its own process): generate N events (10M gives ~1M order lines) over
365 days and hold back the last day; raw + features; full warehouse + dbt build; then land the held-back
day (generated with the same rate, so earlier days are unchanged) and materialise only it. Target: the
new day costs <= 10 % of the full build. Writes benchmarks/reports/warehouse.md and .json, with a
breakdown of the one-day run (process start-up, Dagster steps, dbt start-up, slowest dbt nodes).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_raw_features import BIN, REPORTS, measure

DBT_TARGET = Path(__file__).resolve().parents[1] / "dbt_project" / "target"
WAREHOUSE = "group:warehouse or group:staging or group:marts"
ONE_DAY = "key:warehouse/raw_orders or key:warehouse/raw_events or group:staging or group:marts"


def breakdown(dagster_home: Path, started: float, seconds: float) -> dict[str, object]:
    """Where the latest run's time went: process start-up, Dagster steps, dbt start-up, dbt models and tests.

    From the run's Dagster event log and dbt's run_results.json (dagster-dbt's per-run target folder).
    """
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    run = instance.get_runs(limit=1)[0]
    logs = [e for e in instance.all_logs(run.run_id) if e.dagster_event is not None]
    run_start = next(e.timestamp for e in logs if e.dagster_event.event_type_value == "PIPELINE_START")
    run_end = max(e.timestamp for e in logs)
    steps: dict[str, float] = {}
    starts: dict[str, float] = {}
    for e in logs:
        if e.dagster_event.event_type_value == "STEP_START":
            starts[e.step_key] = e.timestamp
        elif e.dagster_event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            steps[e.step_key] = round(e.timestamp - starts[e.step_key], 2)
    out: dict[str, object] = {
        "process_startup_s": round(run_start - started, 2),
        "dagster_run_s": round(run_end - run_start, 2),
        "after_run_s": round(started + seconds - run_end, 2),
        "steps_s": steps,
    }
    folders = sorted(DBT_TARGET.glob(f"hashiramart_dbt-{run.run_id[:7]}-*/run_results.json"))
    if folders:
        results = json.loads(folders[-1].read_text())
        nodes = results["results"]
        first = min(datetime.fromisoformat(t["started_at"].replace("Z", "+00:00")).timestamp()
                    for r in nodes for t in r["timing"] if t.get("started_at"))
        out["dbt_startup_s"] = round(first - starts.get("hashiramart_dbt", run_start), 2)
        out["dbt_elapsed_s"] = round(results["elapsed_time"], 2)
        for kind in ("model", "test"):
            mine = [r for r in nodes if r["unique_id"].startswith(kind + ".")]
            out[f"dbt_{kind}s_sum_s"] = round(sum(r["execution_time"] for r in mine), 2)
        slowest = sorted(nodes, key=lambda r: -r["execution_time"])[:8]
        out["dbt_slowest_s"] = {r["unique_id"].split(".")[2]: round(r["execution_time"], 2) for r in slowest}
    return out


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
        started = time.time()
        result["one_new_day"] = measure([cli, "materialize", ONE_DAY, "--partition", new_day], env)
        result["one_new_day_breakdown"] = breakdown(
            home / "dagster", started, result["one_new_day"]["seconds"])  # type: ignore[arg-type]
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
        "",
        *breakdown_lines(r["one_new_day_breakdown"]),  # type: ignore[arg-type]
    ]) + "\n")
    print((REPORTS / "warehouse.md").read_text())


def breakdown_lines(b: dict[str, object]) -> list[str]:
    lines = [
        "## Where the one new day's time goes (s)",
        "",
        f"- CLI process start-up (imports, definitions) before the run starts: {b['process_startup_s']}",
        f"- Dagster run: {b['dagster_run_s']}; after it (process exit): {b['after_run_s']}",
        "- steps: " + ", ".join(f"{k} {v}" for k, v in b["steps_s"].items()),  # type: ignore[attr-defined]
    ]
    if "dbt_elapsed_s" in b:
        lines += [
            f"- dbt: start-up and parse {b['dbt_startup_s']}, build {b['dbt_elapsed_s']} "
            f"(models {b['dbt_models_sum_s']}, tests {b['dbt_tests_sum_s']}, summed over 2 threads)",
            "- slowest dbt nodes: " + ", ".join(f"{k} {v}" for k, v in b["dbt_slowest_s"].items()),  # type: ignore[attr-defined]
        ]
    return lines


if __name__ == "__main__":
    main()
