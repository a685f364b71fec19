"""Benchmark: the hybrid recommender's training step vs a bare implicit ALS fit on the same matrix.

A taste-cluster interaction table is synthesised (customers in clusters, each cluster favouring its own
products, some re-bought) at ~1M non-zeros, with matching purchase lines for the history component.
Then, in one process and alternating runs:

(a) ``HybridRecommender.fit(interactions, orders)``: id maps + CSR build, purchase history, popularity,
    repeat rates and the ALS fit;
(b) ``implicit`` ALS alone, same hyperparameters and thread limits, on the CSR matrix (a) built.

Target: best (a) / best (b) <= 1.15 (best of the runs: the machine is shared, the minimum is the
least disturbed run). Usage::

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_recommender.py [--customers 50000 ...]

Writes benchmarks/reports/recommender.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from datetime import date
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hashiramart_assets.ml.recommender.als import make_als  # noqa: E402
from hashiramart_assets.ml.recommender.data import build_training_data  # noqa: E402
from hashiramart_assets.ml.recommender.model import HybridRecommender  # noqa: E402
from hashiramart_assets.ml.recommender.params import RecommenderParams  # noqa: E402

REPORTS = ROOT / "benchmarks" / "reports"
AS_OF = date(2025, 6, 30)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def synthesise(customers: int, products: int, per_customer: int, clusters: int, seed: int):
    """(interactions, orders): ~customers * per_customer distinct pairs drawn from cluster tastes."""
    rng = np.random.default_rng(seed)
    cluster = rng.integers(0, clusters, customers)
    taste = rng.lognormal(0.0, 1.5, (clusters, products))
    cdf = np.cumsum(taste / taste.sum(axis=1, keepdims=True), axis=1)
    draws = int(per_customer * 1.25)
    user = np.repeat(np.arange(customers), draws)
    u = rng.random(len(user))
    item = np.empty(len(user), dtype=np.int64)
    for k in range(clusters):  # a loop over clusters, not rows
        rows = np.flatnonzero(cluster[user] == k)
        item[rows] = np.minimum(np.searchsorted(cdf[k], u[rows]), products - 1)
    pairs = np.unique(user * products + item)
    user, item = pairs // products, pairs % products
    product_names = np.array([f"P{i:05d}" for i in range(products)], dtype=object)
    customer_ids = 100_001 + user
    interactions = pd.DataFrame({
        "customer_id": customer_ids.astype(np.int64),
        "product_id": pd.array(product_names[item], dtype="string"),
        "weight": rng.gamma(1.5, 2.0, len(pairs)),
    })
    bought = rng.random(len(pairs)) < 0.2  # a fifth of the pairs are purchases, some on several days
    times = 1 + rng.poisson(0.6, int(bought.sum()))
    rows = np.repeat(np.flatnonzero(bought), times)
    days = pd.Timestamp(AS_OF) - pd.to_timedelta(rng.integers(0, 365, len(rows)), unit="D")
    orders = pd.DataFrame({
        "customer_id": customer_ids[rows].astype(np.int64),
        "product_id": pd.array(product_names[item[rows]], dtype="string"),
        "order_ts": days,
        "quantity": (1 + rng.poisson(0.5, len(rows))).astype(np.int32),
        "is_return": np.zeros(len(rows), dtype=bool),
    })
    return interactions, orders


def time_it(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--products", type=int, default=5_000)
    parser.add_argument("--per-customer", type=int, default=16, help="distinct products per customer")
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-report", action="store_true", help="print only, do not write the report")
    args = parser.parse_args()
    params = RecommenderParams(seed=args.seed)

    started = time.perf_counter()
    interactions, orders = synthesise(args.customers, args.products, args.per_customer, args.clusters, args.seed)
    synth_s = time.perf_counter() - started
    data = build_training_data(interactions, orders, AS_OF, params.history_half_life_days, params.repeat_prior)
    matrix = data.weights
    rss_after_data = peak_rss_mb()

    def hybrid() -> None:
        HybridRecommender(params).fit(interactions, orders, AS_OF)

    def bare() -> None:
        with threadpool_limits(limits=1, user_api="blas"):
            model = make_als(params)
            model.fit(matrix, show_progress=False)

    hybrid_s, bare_s = [], []
    for _ in range(args.repeats):  # alternate, so drift on a shared machine hits both alike
        bare_s.append(time_it(bare))
        hybrid_s.append(time_it(hybrid))
    prep_s = [time_it(lambda: build_training_data(interactions, orders, AS_OF, params.history_half_life_days,
                                                  params.repeat_prior)) for _ in range(args.repeats)]
    ratio = min(hybrid_s) / min(bare_s)
    command = "OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/bench_recommender.py " + " ".join(sys.argv[1:])
    result = {
        "command": command.strip(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "params": params.to_dict(),
        "customers": int(matrix.shape[0]),
        "products": int(matrix.shape[1]),
        "interactions_nnz": int(matrix.nnz),
        "purchase_lines": len(orders),
        "synthesise_s": round(synth_s, 2),
        "hybrid_fit_s": [round(s, 3) for s in hybrid_s],
        "bare_als_fit_s": [round(s, 3) for s in bare_s],
        "hybrid_fit_best_s": round(min(hybrid_s), 3),
        "bare_als_fit_best_s": round(min(bare_s), 3),
        "preparation_best_s": round(min(prep_s), 3),
        "hybrid_fit_median_s": round(statistics.median(hybrid_s), 3),
        "bare_als_fit_median_s": round(statistics.median(bare_s), 3),
        "ratio": round(ratio, 3),
        "target_ratio": 1.15,
        "meets_target": ratio <= 1.15,
        "peak_rss_mb_after_data": round(rss_after_data),
        "peak_rss_mb": round(peak_rss_mb()),
    }
    print(json.dumps(result, indent=2))
    if args.no_report:
        return
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "recommender.json").write_text(json.dumps(result, indent=2) + "\n")
    md = [
        "# Recommender training benchmark",
        "",
        f"Command: `{result['command']}` ({result['machine']['cpus']} CPUs, Python {result['machine']['python']}).",
        "Synthetic taste-cluster interactions; both fits single-threaded (implicit num_threads=1, 1 BLAS thread),",
        "alternating in one process; best of the runs (shared machine). (a) = hybrid fit: id maps + CSR +",
        "purchase history + popularity + repeat rates + ALS; (b) = bare implicit ALS on the same CSR, same",
        "hyperparameters.",
        "",
        "| customers | products | interactions (nnz) | purchase lines | (a) hybrid fit s | (b) bare ALS s "
        "| preparation s | (a)/(b) | target | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {result['customers']:,} | {result['products']:,} | {result['interactions_nnz']:,} "
        f"| {result['purchase_lines']:,} | {result['hybrid_fit_best_s']} | {result['bare_als_fit_best_s']} "
        f"| {result['preparation_best_s']} "
        f"| {result['ratio']} | <= 1.15 ({'met' if result['meets_target'] else 'missed'}) | {result['peak_rss_mb']} |",
        "",
        f"Runs (s): hybrid {result['hybrid_fit_s']}, bare ALS {result['bare_als_fit_s']}; medians "
        f"{result['hybrid_fit_median_s']} / {result['bare_als_fit_median_s']}. Preparation = everything in (a) "
        "but ALS (id maps, CSR, history, popularity, repeat rates), timed alone.",
        f"ALS: factors={params.factors}, regularization={params.regularization}, iterations={params.iterations}, "
        f"alpha={params.alpha}, seed={params.seed}.",
        "",
    ]
    (REPORTS / "recommender.md").write_text("\n".join(md))


if __name__ == "__main__":
    main()
