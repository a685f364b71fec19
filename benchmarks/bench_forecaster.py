"""Time the sales forecaster end to end on a ~1M-row synthetic long-format history.

Synthesises N series x D days (weekly and yearly seasonality, promotions with a lift, price steps, closed
days, Poisson noise), writes it as CSV (the format real exports come in), then times load, backtest
(train on all but the last H days, forecast them, score model and seasonal naive) and reports peak RSS.

    .venv/bin/python benchmarks/bench_forecaster.py --series 1400 --days 730 --threads 2
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hashiramart_assets.ml.forecast import ForecasterParams, backtest, load_sales_history  # noqa: E402

REPORTS = REPO / "benchmarks" / "reports"


def synthesise(n_series: int, days: int, seed: int) -> pd.DataFrame:
    """Long-format history with known structure, so the model has something real to learn."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2023-01-01", periods=days, freq="D")
    dow = dates.dayofweek.to_numpy()
    doy = dates.dayofyear.to_numpy()
    weekly = np.array([0.85, 0.85, 0.9, 0.95, 1.1, 1.3, 1.05])[dow]
    yearly = 1 + 0.3 * np.cos(2 * np.pi * (doy - 350) / 365.25)
    level = rng.lognormal(1.5, 1.0, n_series)[:, None]  # mean daily units 1..50+
    phase = rng.uniform(0, 365, n_series)[:, None]
    own_season = 1 + 0.2 * np.cos(2 * np.pi * (doy[None, :] - phase) / 365.25)
    promo = (rng.random((n_series, days // 7 + 1)) < 0.08).repeat(7, axis=1)[:, :days]
    base_price = rng.uniform(2, 60, n_series)[:, None]
    price = base_price * np.where(promo, 0.8, 1.0) * np.where(np.arange(days) > days // 2, 1.05, 1.0)
    closed = (dow[None, :] == 6) & (rng.random((n_series, 1)) < 0.2)  # some stores close on Sundays
    mean = level * weekly[None, :] * yearly[None, :] * own_season * np.where(promo, 1.8, 1.0)
    sales = np.where(closed, 0, rng.poisson(mean))
    return pd.DataFrame(
        {
            "series_id": np.repeat([f"s{i:05d}" for i in range(n_series)], days),
            "date": np.tile(dates.strftime("%Y-%m-%d"), n_series),
            "sales": sales.ravel(),
            "promo": promo.ravel().astype(int),
            "open": (~closed).ravel().astype(int),
            "holiday": 0,
            "price": np.round(price.ravel(), 2),
        }
    )


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=1400)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--horizon", type=int, default=28)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--n-estimators", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--report-name", default="forecaster")
    args = parser.parse_args()
    command = "python benchmarks/bench_forecaster.py " + " ".join(shlex.quote(a) for a in sys.argv[1:])

    timings: dict[str, float] = {}
    started = time.perf_counter()
    frame = synthesise(args.series, args.days, args.seed)
    timings["synthesise"] = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-forecaster-") as tmp:
        path = Path(tmp) / "history.csv"
        t = time.perf_counter()
        frame.to_csv(path, index=False)
        timings["write_csv"] = time.perf_counter() - t
        size_mb = path.stat().st_size / 1e6
        del frame
        t = time.perf_counter()
        loaded = load_sales_history(path)
        timings["load"] = time.perf_counter() - t
    params = ForecasterParams(horizon=args.horizon, num_threads=args.threads, n_estimators=args.n_estimators)
    t = time.perf_counter()
    result = backtest(loaded.history, params)
    timings["backtest_train_predict_score"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - started

    metrics = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.metrics.items()}
    report = {
        "command": command,
        "rows": loaded.report.input_rows,
        "series": loaded.report.n_series,
        "days": args.days,
        "csv_mb": round(size_mb, 1),
        "params": params.to_dict(),
        "seconds": {k: round(v, 2) for k, v in timings.items()},
        "peak_rss_mb": round(peak_rss_mb(), 0),
        "metrics": metrics,
        "details": result.details,
        "machine": {"python": platform.python_version(), "cpus_used": args.threads, "platform": platform.platform()},
    }
    REPORTS.mkdir(parents=True, exist_ok=True)
    (REPORTS / f"{args.report_name}.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        "# Sales forecaster benchmark",
        "",
        f"Command: `{command}`",
        "",
        f"{report['rows']:,} rows ({report['series']:,} series x {args.days} days, CSV {report['csv_mb']} MB), "
        f"horizon {args.horizon}, {args.n_estimators} trees per model (point + 2 quantiles), "
        f"{args.threads} LightGBM thread(s), peak RSS {report['peak_rss_mb']:.0f} MB.",
        "",
        "| step | seconds |",
        "|---|---:|",
        *(f"| {k} | {v:.2f} |" for k, v in report["seconds"].items()),
        "",
        "| metric | LightGBM | seasonal naive |",
        "|---|---:|---:|",
        *(
            f"| {name} | {metrics[name]:.4f} | {metrics[f'baseline_seasonal_naive_{name}']:.4f} |"
            for name in ("wape", "rmse", "rmspe", "mape_nonzero")
        ),
        f"| interval_coverage (80 % nominal) | {metrics['interval_coverage']:.4f} | |",
        "",
        f"Evaluated {metrics['n_eval_points']:,} open series-days after train_end {metrics['train_end']}.",
        "",
    ]
    (REPORTS / f"{args.report_name}.md").write_text("\n".join(lines))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
