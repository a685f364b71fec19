"""Benchmark: a real shop's export through the whole graph, as a user runs it, with the models judged on it.

Why: the platform is judged on real exports, not on its own generated data. This runs, as real CLI
processes in a fresh HASHIRAMART_HOME on the embedded defaults::

    hashiramart import online-retail FILE      # quarantine + reconciliation + trading calendar
    hashiramart materialize                    # run 1: raw -> features -> warehouse -> dbt; run 2: models

then reports wall time and peak memory per command, time per stage (from the Dagster event log, as
bench_full_graph.py does), the import's counts and inferred calendar, the raw layer's day statuses, whether
the marts' revenue reconciles with the accepted lines, and both models' metrics against their baselines.
Usage::

    .venv/bin/python benchmarks/bench_real_data.py [FILE] [--keep] [--report-name real_data]

FILE defaults to ../shared/data/online_retail_ii_2009_2010.csv.gz. Writes benchmarks/reports/<name>.md/.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_full_graph import (  # noqa: E402
    BIN,
    NOT_EMBEDDED,
    REPORTS,
    _timed,
    breakdown,
    count_landed,
    read_steps,
)

DEFAULT_FILE = ROOT.parent / "shared" / "data" / "online_retail_ii_2009_2010.csv.gz"
RECOMMENDER_KEYS = ("ndcg_at_10", "precision_at_10", "ndcg_at_10_discovery", "baseline_popular_ndcg_at_10",
                    "baseline_repurchase_ndcg_at_10", "baseline_als_ndcg_at_10", "n_eval_customers",
                    "model_version", "promotion_decision")
FORECASTER_KEYS = ("wape", "baseline_seasonal_naive_wape", "rmse", "interval_coverage", "n_series",
                   "model_version", "promotion_decision")


def latest_metadata(dagster_home: Path, key: list[str], names: tuple[str, ...]) -> dict[str, object]:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey(key))
    if event is None or event.asset_materialization is None:
        return {}
    metadata = event.asset_materialization.metadata
    return {n: metadata[n].value for n in names if n in metadata}


def day_statuses(lake: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in (lake / "raw" / "_days" / "orders").glob("*.json"):
        status = json.loads(path.read_text())["status"]
        counts[status] = counts.get(status, 0) + 1
    return counts


def revenue_reconciliation(home: Path, env: dict[str, str]) -> dict[str, float]:
    """Revenue of marts.daily_sales (product grain) against sum(quantity x unit_price) of the landed lines."""
    import pandas as pd
    import sqlalchemy

    url = subprocess.run([str(BIN / "hashiramart"), "services", "start"], env=env, capture_output=True, text=True,
                         check=True, timeout=180).stdout.strip().splitlines()[-1]
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            marts = float(conn.execute(sqlalchemy.text(
                "select coalesce(sum(revenue), 0) from marts.daily_sales where grain = 'product'")).scalar())
            fct = float(conn.execute(sqlalchemy.text(
                "select coalesce(sum(quantity * unit_price), 0) from marts.fct_order_lines")).scalar())
    finally:
        engine.dispose()
    lines = pd.read_parquet(home / "landing" / "orders", columns=["quantity", "unit_price"])
    landed = float((lines["quantity"] * lines["unit_price"]).sum())
    return {"landed_accepted_lines": round(landed, 2), "marts_daily_sales": round(marts, 2),
            "marts_fct_order_lines": round(fct, 2), "difference": round(marts - landed, 2)}


def run(source: Path, keep: bool) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="hm-bench-real-", dir="/tmp"))
    work.chmod(0o755)
    home = work / "home"
    env = {**os.environ, "HASHIRAMART_HOME": str(home), "DAGSTER_HOME": str(home / "dagster"),
           "OPENBLAS_NUM_THREADS": "1", "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_MASTER": "local[*]"}
    for name in NOT_EMBEDDED:
        env.pop(name, None)
    cli = str(BIN / "hashiramart")
    commands = [[cli, "import", "online-retail", str(source)], [cli, "materialize"]]
    try:
        imported = _timed(commands[0], env)
        materialized = _timed(commands[1], env) if imported["ok"] else {"ok": False, "error": "not run"}
        runs = read_steps(home / "dagster") if (home / "dagster" / "dagster.yaml").exists() else []
        report_file = home / "landing" / "_reports" / "online_retail_import.json"
        import_report = json.loads(report_file.read_text()) if report_file.exists() else {}
        reconciliation = revenue_reconciliation(home, env) if materialized["ok"] else {}
        models = {
            "recommender": latest_metadata(home / "dagster", ["models", "recommender"], RECOMMENDER_KEYS),
            "sales_forecaster": latest_metadata(home / "dagster", ["models", "sales_forecaster"], FORECASTER_KEYS),
        }
        statuses = day_statuses(home / "lake")
        counts = count_landed(home / "landing")
    finally:
        subprocess.run([cli, "services", "stop"], env=env, capture_output=True, timeout=180, check=False)
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    stages = breakdown({"seconds": imported.get("seconds", 0.0)}, materialized, runs)
    stages["import"] = stages.pop("generate")
    ok = bool(imported["ok"] and materialized["ok"] and len(runs) == 2 and all(r["status"] == "SUCCESS" for r in runs))
    return {
        "source": str(source), "commands": [" ".join([Path(c[0]).name, *c[1:]]) for c in commands], "ok": ok,
        "total_seconds": round(float(imported.get("seconds", 0)) + float(materialized.get("seconds", 0)), 1),
        "stages": stages, "peak_rss_mb": {"import": imported.get("peak_rss_mb"),
                                          "materialize": materialized.get("peak_rss_mb")},
        "landed": counts, "import_report": import_report, "raw_day_statuses": statuses,
        "revenue": reconciliation, "models": models, "runs": runs, "kept": str(work) if keep else None,
        "import": imported, "materialize": materialized,
    }


def write_report(result: dict[str, object], name: str) -> None:
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{name}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    rep, rec, fc = result["import_report"], result["models"]["recommender"], result["models"]["sales_forecaster"]
    calendar = rep.get("calendar", {})
    lines = [
        "# A real shop's export through the whole graph",
        "",
        "`benchmarks/bench_real_data.py`, fresh HASHIRAMART_HOME on the embedded defaults, real CLI processes:",
        "",
        *[f"    {cmd}" for cmd in result["commands"]],
        "",
        f"Outcome: **{'succeeded' if result['ok'] else 'FAILED'}**, {result['total_seconds']} s in all. Peak RSS "
        f"(process tree, Spark JVM and dbt included; the embedded Postgres is detached and not counted): import "
        f"{result['peak_rss_mb']['import']} MB, materialize {result['peak_rss_mb']['materialize']} MB.",
        "",
        "## Import",
        "",
        f"Input {rep.get('input_rows', 0):,} rows: accepted {rep.get('accepted_rows', 0):,}, quarantined "
        f"{rep.get('quarantined_rows', 0):,} ({json.dumps(rep.get('quarantine_by_reason', {}))}).",
        f"Span {calendar.get('start_date')}..{calendar.get('end_date')}: {calendar.get('calendar_days')} calendar "
        f"days, {calendar.get('trading_days')} trading, {calendar.get('closed_days')} closed. Inferred: "
        f"{'; '.join(calendar.get('notes', [])) or '-'}.",
        f"Raw layer day statuses (orders): {json.dumps(result['raw_day_statuses'])}.",
        "",
        "## Revenue reconciliation",
        "",
        f"{json.dumps(result['revenue'])}",
        "",
        "## Models on this data (same run, held-out data)",
        "",
        "| recommender | value |", "|---|---:|", *[f"| {k} | {v} |" for k, v in rec.items()],
        "",
        "| sales forecaster | value |", "|---|---:|", *[f"| {k} | {v} |" for k, v in fc.items()],
        "",
        "## Time per stage (s)",
        "",
        "| stage | seconds |", "|---|---:|", *[f"| {k} | {v} |" for k, v in result["stages"].items()],
        "",
        "Stages as in full_graph.md: sums of step durations from the Dagster event log.",
    ]
    for label in ("import", "materialize"):
        if not result[label]["ok"]:
            lines += ["", f"`{label}` FAILED:", "", "```", str(result[label]["error"])[-1500:], "```"]
    (REPORTS / f"{name}.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (HASHIRAMART_HOME) for inspection")
    parser.add_argument("--report-name", default="real_data")
    args = parser.parse_args()
    result = run(args.file.resolve(), args.keep)
    write_report(result, args.report_name)
    print(json.dumps({k: result[k] for k in ("ok", "total_seconds", "stages", "revenue", "models")}, default=str))
    raise SystemExit(0 if result["ok"] else 1)


if __name__ == "__main__":
    main()
