"""Benchmark: generate N events, materialise raw + features (Spark) and the DuckDB baseline.

Each stage runs as its own process (the real CLI), and the peak resident memory of its whole process
tree (Python + the Spark JVM) is sampled. Usage::

    .venv/bin/python benchmarks/bench_raw_features.py --events 1000000 10000000

Writes benchmarks/reports/raw_features.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "benchmarks" / "reports"
BIN = Path(sys.executable).parent


def measure(cmd: list[str], env: dict[str, str]) -> dict[str, object]:
    """Wall time and peak RSS (MB) of a command and all its children (+ its JSON output, if any)."""
    peak = 0
    process = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        parent = psutil.Process(process.pid)
        while not done.is_set():
            try:
                tree = [parent, *parent.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    started = time.monotonic()
    sampler.start()
    stdout, stderr = process.communicate()
    elapsed = time.monotonic() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{stderr[-3000:]}")
    result: dict[str, object] = {"seconds": round(elapsed, 1), "peak_rss_mb": round(peak / 2**20)}
    last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    if last.startswith("{"):
        result.update(json.loads(last))
    return result


def run_scale(events: int, workdir: Path) -> dict[str, object]:
    home = workdir / f"events_{events}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    home.chmod(0o755)
    env = {**os.environ, "HASHIRAMART_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1"}
    env.pop("DAGSTER_HOME", None)
    cli = str(BIN / "hashiramart")
    result: dict[str, object] = {"events": events}
    result["generate"] = measure([cli, "generate", "--events", str(events)], env)
    days = sorted(p.name.removeprefix("date=") for p in (home / "landing" / "orders").iterdir())
    lines = 0
    import pyarrow.parquet as pq

    for day in days:
        lines += pq.ParquetFile(home / "landing" / "orders" / f"date={day}" / "part.parquet").metadata.num_rows
    result["order_lines"] = lines
    result["raw"] = measure([cli, "materialize", "group:raw", "--partition", f"{days[0]}..{days[-1]}"], env)
    result["features_spark"] = measure([cli, "materialize", "group:features"], env)
    script = str(ROOT / "benchmarks" / "feature_compute.py")
    lake = str(home / "lake")
    result["compute_spark"] = measure([sys.executable, script, "spark", lake, str(home / "spark_out")], env)
    result["compute_duckdb"] = measure([sys.executable, script, "duckdb", lake, str(home / "duck_out")], env)
    spark_s = result["compute_spark"]["compute_s"]  # type: ignore[index]
    duck_s = result["compute_duckdb"]["compute_s"]  # type: ignore[index]
    result["spark_over_duckdb"] = round(spark_s / max(duck_s, 0.1), 2)
    stage_s = result["features_spark"]["seconds"]  # type: ignore[index]
    result["raw_plus_features_seconds"] = round(result["raw"]["seconds"] + stage_s, 1)  # type: ignore[index]
    shutil.rmtree(home, ignore_errors=True)
    return result


def write_report(results: list[dict[str, object]]) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "raw_features.json").write_text(json.dumps(results, indent=2))
    lines = [
        "# Raw + features benchmark",
        "",
        f"Machine: {os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB RAM. "
        "Command: `.venv/bin/python benchmarks/bench_raw_features.py --events 1000000 10000000`.",
        "Each stage is the real CLI in its own process; peak RSS covers the process tree (incl. the JVM).",
        "Targets: 10M events raw + features <= 300 s; Spark features <= 3x the DuckDB baseline at 10M.",
        "",
        "Stages (CLI, Dagster run incl. checks): generate, raw, features. Compute only (engine started, same",
        "three feature tables written as Parquet): Spark local[*] vs DuckDB, each in its own process.",
        "",
        "| events | order lines | generate s | raw stage s (peak MB) | features stage s (peak MB) | "
        "raw+features s | Spark compute s (JVM start s, peak MB) | DuckDB compute s (peak MB) | Spark/DuckDB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        g, raw, sp = r["generate"], r["raw"], r["features_spark"]
        cs, cd = r["compute_spark"], r["compute_duckdb"]
        lines.append(
            f"| {r['events']:,} | {r['order_lines']:,} | {g['seconds']} | {raw['seconds']} ({raw['peak_rss_mb']}) | "
            f"{sp['seconds']} ({sp['peak_rss_mb']}) | {r['raw_plus_features_seconds']} | "
            f"{cs['compute_s']} ({cs['startup_s']}, {cs['peak_rss_mb']}) | {cd['compute_s']} ({cd['peak_rss_mb']}) | "
            f"{r['spark_over_duckdb']} |"
        )
    (REPORTS / "raw_features.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hm-bench-", dir="/tmp"))
    workdir.chmod(0o755)
    results = []
    for events in args.events:
        print(f"benchmarking {events:,} events ...", flush=True)
        results.append(run_scale(events, workdir))
        print(json.dumps(results[-1]), flush=True)
        write_report(results)
    print((REPORTS / "raw_features.md").read_text())


if __name__ == "__main__":
    main()
