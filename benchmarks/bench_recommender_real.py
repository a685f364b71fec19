"""Benchmark: the recommender on a real shop's history, tuned on a validation split that precedes the test split.

Why: on real Online Retail data the hybrid beat the repurchase baseline by only ~2 % (issue 15). Next-basket
research (Li et al., TOIS 2023; TIFU-KNN, Hu et al. 2020) says the neighbours' baskets add what one's own
history cannot. This imports the file with the project's importer, then:

* test split: each repeat buyer's last purchase day (``holdout_split``, what the models asset scores);
* validation split: the same rule applied to the test split's training part, so the validation basket
  precedes the test basket and the test split is never looked at while choosing;
* coordinate search on validation (``STAGES``): ALS matrix weighting x factors, ALS alpha x
  regularisation, seasonal lift x its prior x the popularity half-life, the popularity weight, the
  explore score's mix, the repeat score's ALS x neighbour weights, then ``explore_weight``. Each stage
  keeps the best of its grid by its own objective (discovery NDCG@10 for what only ranks new products,
  re-buy NDCG@10 for the rest), everything else at the best so far, among the settings that stay at
  least as good as the previous defaults on generated data (60k and 200k events, as
  bench_recommender_quality.py makes them: the guard);
* the defaults and the validation winner scored once on the test split, with repeat / explore metrics;
* the ALS training step (``fit_als``: weighting + fit) timed against a bare ``implicit`` fit of the same
  matrix with the same settings (median of 3 runs each, interleaved), on the test split's training data.

Usage::

    nice -n 5 .venv/bin/python benchmarks/bench_recommender_real.py [FILE]

FILE defaults to ../shared/data/online_retail_ii_2009_2010.csv.gz. Writes benchmarks/reports/recommender_real.md
and .json.
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

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hashiramart_assets.datagen import GeneratorConfig, generate  # noqa: E402
from hashiramart_assets.importers.online_retail import import_online_retail  # noqa: E402
from hashiramart_assets.landing import table_path  # noqa: E402
from hashiramart_assets.ml.recommender.als import fit_als, make_als  # noqa: E402
from hashiramart_assets.ml.recommender.data import build_training_data  # noqa: E402
from hashiramart_assets.ml.recommender.evaluate import evaluate  # noqa: E402
from hashiramart_assets.ml.recommender.interactions import as_of_date, build_interactions  # noqa: E402
from hashiramart_assets.ml.recommender.params import RecommenderParams  # noqa: E402
from hashiramart_assets.ml.recommender.split import holdout_split  # noqa: E402

REPORTS = ROOT / "benchmarks" / "reports"
DEFAULT_FILE = ROOT.parent / "shared" / "data" / "online_retail_ii_2009_2010.csv.gz"
# coordinate search: each stage varies its settings around the best so far and keeps the best by its objective
DISCOVERY, REBUY = "ndcg_at_10_discovery", "ndcg_at_10"
STAGES: list[tuple[str, list[dict[str, object]]]] = [
    (DISCOVERY, [{"als_weighting": w, "factors": f} for w in ("none", "log", "bm25") for f in (16, 32)]),
    (DISCOVERY, [{"alpha": a, "regularization": r} for a in (1.0, 2.0) for r in (0.1, 1.0)]),
    (REBUY, [{"seasonal_lift": s, "seasonal_lift_prior": p, "popularity_half_life_days": h}
             for s in (0.0, 0.5, 1.0) for p in (4.0, 16.0, 64.0) for h in (14.0, 30.0)]),
    (REBUY, [{"popularity_weight": w} for w in (0.1, 0.3)]),
    (DISCOVERY, [{"explore_neighbour_weight": n, "explore_popularity_weight": w} for n in (0.25, 0.5)
                 for w in (0.1, 0.3)]),
    (REBUY, [{"als_weight": a, "neighbour_weight": n} for a in (0.15, 0.3) for n in (0.25, 0.5)]),
    (REBUY, [{"explore_weight": w} for w in (0.1, 0.2, 0.4)]),
]
# Guard: the defaults must stay at least as good on generated data as before this search. Figures of the
# previous defaults (commit 9643224, bench_recommender_quality.py, seed 42): scale -> (NDCG@10, discovery NDCG@10).
# A setting below any of them is not chosen while some setting of its stage passes.
GUARD_SCALES = {"60k": (60_000, 120, date(2025, 1, 1)), "200k": (200_000, 365, date(2025, 11, 30))}
GUARD_FLOOR = {"60k": (0.5035, 0.3275), "200k": (0.4578, 0.3167)}
TIMING_RUNS = 3
SHOWN = ("precision_at_10", "ndcg_at_10", "repeat_ndcg_at_10", "explore_ndcg_at_10", "ndcg_at_10_discovery")
PREFIXES = {"hybrid": "", "repurchase": "baseline_repurchase_", "als": "baseline_als_", "popular": "baseline_popular_"}


def load(file: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    landing = Path(tempfile.mkdtemp(prefix="hm-bench-recreal-", dir="/tmp"))
    try:
        import_online_retail(file, landing)
        orders, events = pd.read_parquet(landing / "orders"), pd.read_parquet(landing / "events")
        customers = pd.read_parquet(table_path(landing, "customers"))
    finally:
        shutil.rmtree(landing, ignore_errors=True)
    for frame in (orders, events):
        frame["product_id"] = frame["product_id"].astype(str)
    return orders, events, customers


def figures(metrics: dict[str, float]) -> dict[str, dict[str, float]]:
    return {model: {key: round(metrics.get(f"{prefix}{key}", float("nan")), 4) for key in SHOWN}
            for model, prefix in PREFIXES.items()}


def generated(landing_root: Path) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, set[str]]]:
    """The guard's generated data sets (the project's generator, seed 42), as bench_recommender_quality reads them."""
    out = {}
    for name, (events, days, start) in GUARD_SCALES.items():
        root = landing_root / name
        generate(GeneratorConfig(events=events, days=days, start=start, seed=42), root)
        orders, events_df = pd.read_parquet(root / "orders"), pd.read_parquet(root / "events")
        customers, products = (pd.read_parquet(table_path(root, table)) for table in ("customers", "products"))
        for frame in (orders, events_df):
            frame["product_id"] = frame["product_id"].astype(str)
        out[name] = (orders, events_df, customers, set(products["product_id"].astype(str)))
    return out


def guard(params: RecommenderParams, sets: dict[str, tuple]) -> dict[str, object]:
    """NDCG@10 and discovery NDCG@10 per generated scale, and how far the worst is below its floor (0: none)."""
    figures_by_scale: dict[str, object] = {}
    shortfall = 0.0
    for name, (orders, events, customers, catalogue) in sets.items():
        metrics = evaluate(orders, events, customers, params=params, catalogue=catalogue).metrics
        got = (round(metrics["ndcg_at_10"], 4), round(metrics["ndcg_at_10_discovery"], 4))
        figures_by_scale[name] = got
        shortfall = max(shortfall, *(floor - value for floor, value in zip(GUARD_FLOOR[name], got, strict=True)))
    return {"generated": figures_by_scale, "shortfall": round(max(shortfall, 0.0), 4)}


def search(orders: pd.DataFrame, events: pd.DataFrame, customers: pd.DataFrame, sets: dict[str, tuple]
           ) -> tuple[list[dict[str, object]], dict[str, object]]:
    """Coordinate search on the validation split: (every scored row, the winning setting).

    Each stage keeps its best setting by its objective among those passing the generated-data guard (the
    smallest shortfall when none does).
    """
    rows: list[dict[str, object]] = []
    seen: dict[str, dict[str, object]] = {}
    chosen: dict[str, object] = {}
    for objective, stage in STAGES:
        scored = []
        for change in stage:
            setting = {**chosen, **change}
            key = json.dumps(setting, sort_keys=True)
            if key not in seen:  # the best so far reappears in the next stage's grid: score it once
                params = RecommenderParams().replace(**setting)
                started = time.perf_counter()
                metrics = evaluate(orders, events, customers, params=params).metrics
                seen[key] = {"setting": setting, "objective": objective,
                             "seconds": round(time.perf_counter() - started, 1), **figures(metrics)["hybrid"],
                             "als_ndcg_at_10_discovery": round(metrics["baseline_als_ndcg_at_10_discovery"], 4),
                             "repurchase_precision_at_10": round(metrics["baseline_repurchase_precision_at_10"], 4),
                             "repurchase_ndcg_at_10": round(metrics["baseline_repurchase_ndcg_at_10"], 4),
                             **guard(params, sets)}
                rows.append(seen[key])
                print(seen[key], flush=True)
            scored.append(seen[key])
        chosen = max(scored, key=lambda r: (-r["shortfall"], r[objective]))["setting"]
    return rows, chosen


def als_fit_ratio(orders: pd.DataFrame, events: pd.DataFrame, params: RecommenderParams) -> dict[str, float]:
    """Seconds of ``fit_als`` (weighting + fit) vs a bare implicit fit of the same matrix and settings.

    Runs alternate so load from other jobs on the machine hits both alike; medians of ``TIMING_RUNS``.
    """
    as_of = as_of_date(orders, events)
    data = build_training_data(build_interactions(orders, events, as_of), orders, as_of,
                               params.history_half_life_days, params.repeat_prior)
    matrix = data.weights.astype(np.float32).tocsr()

    def bare() -> None:
        with threadpool_limits(limits=1, user_api="blas"):
            make_als(params).fit(matrix, show_progress=False)

    ours, plain = [], []
    for _ in range(TIMING_RUNS):
        for timings, fit in ((ours, lambda: fit_als(matrix, params)), (plain, bare)):
            started = time.perf_counter()
            fit()
            timings.append(time.perf_counter() - started)
    ours_s, plain_s = float(np.median(ours)), float(np.median(plain))
    return {"fit_als_s": round(ours_s, 3), "bare_implicit_s": round(plain_s, 3), "ratio": round(ours_s / plain_s, 3),
            "matrix": f"{matrix.shape[0]} x {matrix.shape[1]}, {matrix.nnz:,} values"}


def run(file: Path) -> dict[str, object]:
    orders, events, customers = load(file)
    test = holdout_split(orders, events)
    landing = Path(tempfile.mkdtemp(prefix="hm-bench-recreal-gen-", dir="/tmp"))
    try:
        sets = generated(landing)
    finally:
        shutil.rmtree(landing, ignore_errors=True)
    validation_rows, chosen = search(test.train_orders, test.train_events, customers, sets)
    results = {}
    settings = {"defaults": {}, "validation winner": chosen}
    if RecommenderParams().replace(**chosen) == RecommenderParams():
        settings = {"defaults (= the validation winner)": {}}
    # what the generated-data guard costs on real data: the best validation NDCG@10 of the search, guard or not
    settings["best validation NDCG@10 ignoring the guard"] = max(validation_rows, key=lambda r: r[REBUY])["setting"]
    for label, setting in settings.items():
        params = RecommenderParams().replace(**setting)
        started = time.perf_counter()
        evaluation = evaluate(orders, events, customers, params=params)
        results[label] = {"setting": setting, "seconds": round(time.perf_counter() - started, 1),
                          "customers": int(evaluation.metrics["n_eval_customers"]),
                          "repeat_customers": int(evaluation.metrics["n_repeat_customers"]),
                          "explore_customers": int(evaluation.metrics["n_explore_customers"]),
                          "truth_repeat_share": round(evaluation.metrics["truth_repeat_share"], 4),
                          "models": figures(evaluation.metrics)}
        print(label, results[label], flush=True)
    timing = als_fit_ratio(test.train_orders, test.train_events, RecommenderParams())
    print("ALS fit", timing, flush=True)
    return {"file": file.name, "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
            "order_lines": len(orders), "chosen": chosen, "validation": validation_rows, "test": results,
            "als_fit": timing}


def write_report(result: dict[str, object]) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / "recommender_real.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        f"# Recommender on real data ({result['file']})", "",
        f"{result['machine']['cpus']} CPUs, Python {result['machine']['python']}; {result['order_lines']:,} accepted "
        "order lines. Command: `nice -n 5 .venv/bin/python benchmarks/bench_recommender_real.py`.", "",
        "## Validation split (the test split's training part, its own last purchase day held out)", "",
        "Coordinate search: each stage varies its settings around the best so far and keeps the best by its "
        f"objective (`{DISCOVERY}` for what only ranks new products, `{REBUY}` for the rest). "
        f"Winner: `{result['chosen']}`.", "",
        "Guard: a setting is chosen only if it stays at least as good on generated data as the previous defaults "
        f"(NDCG@10, discovery NDCG@10 per scale: {GUARD_FLOOR}); the last column is its worst shortfall.", "",
        "| setting | objective | P@10 | NDCG@10 | repeat NDCG@10 | explore NDCG@10 | discovery NDCG@10 "
        "| ALS discovery | repurchase P@10 | repurchase NDCG@10 | s | generated (NDCG, discovery) | shortfall |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        *[f"| {r['setting'] or 'defaults'} | {r['objective']} | {r['precision_at_10']} | {r['ndcg_at_10']} | "
          f"{r['repeat_ndcg_at_10']} | {r['explore_ndcg_at_10']} | {r['ndcg_at_10_discovery']} | "
          f"{r['als_ndcg_at_10_discovery']} | {r['repurchase_precision_at_10']} | {r['repurchase_ndcg_at_10']} | "
          f"{r['seconds']} | {r['generated']} | {r['shortfall']} |" for r in result["validation"]],
        "", "## Test split (each repeat buyer's last purchase day), scored once per setting", "",
    ]
    for label, entry in result["test"].items():
        lines += [f"**{label}**: {entry['setting'] or 'the defaults'}; "
                  f"{entry['customers']} customers ({entry['repeat_customers']} with re-bought items, "
                  f"{entry['explore_customers']} with new items; {entry['truth_repeat_share']:.0%} of a held-out "
                  f"basket is re-bought on average); {entry['seconds']} s.", "",
                  "| model | " + " | ".join(SHOWN) + " |", "|---|" + "---:|" * len(SHOWN),
                  *[f"| {model} | " + " | ".join(str(v[key]) for key in SHOWN) + " |"
                    for model, v in entry["models"].items()], ""]
    lines += ["## Margins on the test split", "",
              "Before this search (issue 15, one blend over all products, ALS 16 factors on raw weights): hybrid "
              "P@10 0.2350 / NDCG@10 0.3071 vs repurchase 0.2244 / 0.2976 (+4.7 % / +3.2 %); discovery NDCG@10 "
              "0.0912 vs plain ALS 0.083; explore NDCG@10 0.0054 vs plain ALS 0.0472.", ""]
    lines += _margins(result) + _timing(result["als_fit"])
    (REPORTS / "recommender_real.md").write_text("\n".join(lines))


def _margins(result: dict[str, object]) -> list[str]:
    """The hybrid's gain over the repurchase baseline (re-buy) and plain ALS (discovery), per test setting."""
    out = ["| setting | P@10 vs repurchase | NDCG@10 vs repurchase | discovery NDCG@10 vs plain ALS |",
           "|---|---:|---:|---:|"]
    for label, entry in result["test"].items():
        hybrid, rep, als = (entry["models"][m] for m in ("hybrid", "repurchase", "als"))
        out.append(f"| {label} | {hybrid['precision_at_10'] / rep['precision_at_10'] - 1:+.1%} | "
                   f"{hybrid['ndcg_at_10'] / rep['ndcg_at_10'] - 1:+.1%} | "
                   f"{hybrid['ndcg_at_10_discovery'] / als['ndcg_at_10_discovery'] - 1:+.1%} |")
    return [*out, ""]


def _timing(timing: dict[str, object]) -> list[str]:
    return ["## ALS training step vs a bare implicit fit", "",
            f"Test split's training matrix ({timing['matrix']}), default settings, median of {TIMING_RUNS} "
            f"interleaved runs: `fit_als` (weighting + fit) {timing['fit_als_s']} s, bare "
            f"`AlternatingLeastSquares.fit` {timing['bare_implicit_s']} s: ratio **{timing['ratio']}** "
            "(limit 1.15).", ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    result = run(parser.parse_args().file)
    write_report(result)


if __name__ == "__main__":
    main()
