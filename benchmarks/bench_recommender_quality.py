"""Benchmark: recommender quality against its baselines at several data scales (holdout NDCG@10).

Why: the promotion rule needs the hybrid to beat the popular, repurchase and plain-ALS baselines on the
same holdout. A default that wins on a small sample can lose on a year of history (it did: see the
RecommenderParams docstring), so the defaults are judged at every scale a user may run. For each
scale, generated data (the project's generator, fixed seed) goes through the same ``evaluate`` the
models asset uses (per-customer time holdout, re-buy and discovery modes). Usage::

    .venv/bin/python benchmarks/bench_recommender_quality.py [--scales 60000:120:2025-01-01 ...]

A scale is EVENTS:DAYS:FIRST_DAY. Writes benchmarks/reports/recommender_quality.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hashiramart_assets.datagen import GeneratorConfig, generate  # noqa: E402
from hashiramart_assets.landing import table_path  # noqa: E402
from hashiramart_assets.ml.promotion import RECOMMENDER_RULE, baseline_failures  # noqa: E402
from hashiramart_assets.ml.recommender.evaluate import evaluate  # noqa: E402
from hashiramart_assets.ml.recommender.params import RecommenderParams  # noqa: E402

REPORTS = ROOT / "benchmarks" / "reports"
DEFAULT_SCALES = ("60000:120:2025-01-01", "200000:365:2025-11-30", "2000000:365:2025-01-01",
                  "10000000:365:2025-01-01")
MODELS = {"hybrid": "", "popular": "baseline_popular_", "repurchase": "baseline_repurchase_", "als": "baseline_als_"}


def run_scale(events: int, days: int, start: date, seed: int) -> dict[str, object]:
    landing = Path(tempfile.mkdtemp(prefix="hm-bench-recq-", dir="/tmp"))
    try:
        generate(GeneratorConfig(events=events, days=days, start=start, seed=seed), landing)
        orders, events_df = pd.read_parquet(landing / "orders"), pd.read_parquet(landing / "events")  # day folders
        customers, products = (pd.read_parquet(table_path(landing, table)) for table in ("customers", "products"))
        for frame in (orders, events_df):
            frame["product_id"] = frame["product_id"].astype(str)
        started = time.perf_counter()
        evaluation = evaluate(orders, events_df, customers, params=RecommenderParams(), k=10,
                              catalogue=set(products["product_id"].astype(str)))
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(landing, ignore_errors=True)
    metrics = evaluation.metrics
    return {
        "events": events, "days": days, "first_day": str(start), "seed": seed, "order_lines": len(orders),
        "customers_evaluated": int(metrics["n_eval_customers"]), "evaluate_seconds": round(seconds, 1),
        "ndcg_at_10": {name: round(metrics[f"{prefix}ndcg_at_10"], 4) for name, prefix in MODELS.items()},
        "ndcg_at_10_discovery": {name: round(metrics[f"{prefix}ndcg_at_10_discovery"], 4)
                                 for name, prefix in MODELS.items()},
        "promotion_failures": baseline_failures(RECOMMENDER_RULE, metrics),
    }


def write_report(results: list[dict[str, object]], command: str) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "recommender_quality.json").write_text(json.dumps(results, indent=2) + "\n")
    lines = [
        "# Recommender quality vs baselines, by scale", "",
        f"Command: `{command}`", "",
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}. Generated data (seed in the table), "
        "`evaluate` with the default RecommenderParams: each repeat buyer's last purchase day held out.", "",
        "| events | days from | order lines | customers | NDCG@10 hybrid | popular | repurchase | ALS "
        "| discovery hybrid | discovery ALS | beats all baselines | evaluate s |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in results:
        n, d = r["ndcg_at_10"], r["ndcg_at_10_discovery"]
        verdict = "yes" if not r["promotion_failures"] else "NO: " + "; ".join(r["promotion_failures"])
        lines.append(
            f"| {r['events']:,} | {r['days']} from {r['first_day']} | {r['order_lines']:,} | "
            f"{r['customers_evaluated']:,} | {n['hybrid']} | {n['popular']} | {n['repurchase']} | {n['als']} | "
            f"{d['hybrid']} | {d['als']} | {verdict} | {r['evaluate_seconds']} |")
    (REPORTS / "recommender_quality.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=list(DEFAULT_SCALES), help="EVENTS:DAYS:FIRST_DAY")
    parser.add_argument("--seed", type=int, default=42, help="the generator's (and `hashiramart generate`'s) default")
    args = parser.parse_args()
    results = []
    for scale in args.scales:
        events, days, first = scale.split(":")
        results.append(run_scale(int(events), int(days), date.fromisoformat(first), args.seed))
        print(json.dumps(results[-1]), flush=True)
    write_report(results, "python benchmarks/bench_recommender_quality.py " + " ".join(sys.argv[1:]))
    if any(r["promotion_failures"] for r in results):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
