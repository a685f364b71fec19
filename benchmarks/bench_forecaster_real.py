"""Forecaster against its baselines and a peer reference on store sales and on the shared real shop.

Two datasets, each scored on the same rolling windows (3 x H days ending at the last day):
  - store sales in the Rossmann layout: a real export if ``--sales`` (and ``--stores``) are given, else
    benchmarks/store_sales_like.py's 1,115 generated stores (H = 42, the Rossmann test length);
  - the shared real Online Retail file (../shared/data), imported with the project's importer, as daily
    series per product and per category (H = 28; intermittent demand, so judged by WAPE and RMSE).
Models, each trained before a window and scored on its open, observed days:
  - ``hashiramart``: the default forecaster (ForecasterParams(), objective chosen by validation);
  - ``hashiramart_v1``: the previous default (feature set 1, Tweedie, one H-day model), for reference;
  - ``mlforecast``: Nixtla's mlforecast with LightGBM, same data, the usual recursive set-up (lags 1..28 by
    week, rolling means, date features, the same known-ahead covariates, log1p target where we use it);
  - ``seasonal_naive``: same weekday (and promo state) >= H days back (baseline.py).
Run: ``.venv/bin/python benchmarks/bench_forecaster_real.py`` (needs ``pip install -e .[bench]`` for
mlforecast); writes benchmarks/reports/forecaster_real.md and .json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.store_sales_like import write_store_sales
from hashiramart_assets.ml.forecast.backtest import _one_window, window_origins
from hashiramart_assets.ml.forecast.columns import DATE, SALES, SERIES
from hashiramart_assets.ml.forecast.covariates import Covariate
from hashiramart_assets.ml.forecast.loading import load_sales_history
from hashiramart_assets.ml.forecast.mart import history_from_daily_sales
from hashiramart_assets.ml.forecast.metrics import rmse, rmspe, wape
from hashiramart_assets.ml.forecast.params import ForecasterParams
from hashiramart_assets.ml.forecast.selection import choose_target

REPORTS = Path(__file__).resolve().parent / "reports"
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "online_retail_ii_2009_2010.csv.gz"
METRICS = {"wape": wape, "rmse": rmse, "rmspe": rmspe}


def ours(history: pd.DataFrame, params: ForecasterParams, covariates: tuple[Covariate, ...]) -> dict:
    """Our backtest, window by window, with timings (selection once, before the first window)."""
    origins = window_origins(history, params)
    started = time.perf_counter()
    selection = choose_target(history.loc[history[DATE] <= origins[0]].reset_index(drop=True), params, covariates)
    resolved = selection.params
    selected_s = time.perf_counter() - started
    frames, fit_seconds = [], []
    for k, origin in enumerate(origins, start=1):
        t0 = time.perf_counter()
        evaluated, _, _ = _one_window(history, origin, resolved, covariates, last=k == len(origins))
        fit_seconds.append(round(time.perf_counter() - t0, 1))
        frames.append(evaluated.assign(window=k))
    chosen = f"{resolved.objective}/{resolved.target_transform}"
    return {"frame": pd.concat(frames, ignore_index=True), "chosen": chosen,
            "selection": selection.scores, "selection_s": round(selected_s, 1), "window_s": fit_seconds}


def mlforecast_reference(history: pd.DataFrame, origins: list[pd.Timestamp], horizon: int,
                         covariates: tuple[Covariate, ...], log_target: bool) -> dict:
    """Nixtla mlforecast + LightGBM, recursive, one fit per window; rows of every day (closed ones as 0)."""
    import lightgbm as lgb
    from mlforecast import MLForecast
    from mlforecast.lag_transforms import RollingMean
    from mlforecast.target_transforms import GlobalSklearnTransformer
    from sklearn.preprocessing import FunctionTransformer

    known = ["promo", "open", "holiday", "price", *(c.name for c in covariates if c.known_ahead)]
    static = [c.name for c in covariates if c.known_ahead and
              history.groupby(SERIES)[c.name].nunique(dropna=False).max() <= 1]
    dynamic = [c for c in known if c not in static]
    frame = history.rename(columns={SERIES: "unique_id", DATE: "ds", SALES: "y"})
    frame = frame[["unique_id", "ds", "y", *known]].copy()
    frame[known] = frame[known].astype("float64")
    transforms = []
    if log_target:
        transforms = [GlobalSklearnTransformer(FunctionTransformer(np.log1p, np.expm1))]
    frames, seconds = [], []
    for k, origin in enumerate(origins, start=1):
        t0 = time.perf_counter()
        train = frame.loc[frame["ds"] <= origin]
        future = frame.loc[(frame["ds"] > origin) & (frame["ds"] <= origin + pd.Timedelta(days=horizon))]
        model = MLForecast(
            models={"lgbm": lgb.LGBMRegressor(n_estimators=150, learning_rate=0.1, num_leaves=31, verbosity=-1,
                                              num_threads=2, seed=42)},
            freq="D", lags=[1, 7, 14, 21, 28],
            lag_transforms={1: [RollingMean(7), RollingMean(28)], 7: [RollingMean(4)]},
            date_features=["dayofweek", "day", "month", "dayofyear"],
            target_transforms=transforms,
        )
        model.fit(train, static_features=static, dropna=True)
        predicted = model.predict(horizon, X_df=future[["unique_id", "ds", *dynamic]])
        seconds.append(round(time.perf_counter() - t0, 1))
        predicted = predicted.rename(columns={"unique_id": SERIES, "ds": DATE, "lgbm": "mlforecast"})
        predicted["mlforecast"] = predicted["mlforecast"].clip(lower=0)
        predicted["window"] = k
        frames.append(predicted)
    return {"frame": pd.concat(frames, ignore_index=True), "window_s": seconds}


def figures(frame: pd.DataFrame, column: str) -> dict[str, float]:
    y = frame["actual"].to_numpy("float64")
    return {name: round(fn(y, frame[column].to_numpy("float64")), 4) for name, fn in METRICS.items()}


def compare(name: str, history: pd.DataFrame, horizon: int, covariates: tuple[Covariate, ...],
            with_peer: bool) -> dict:
    """Every model on the same windows and the same evaluated series-days."""
    params = ForecasterParams(horizon=horizon)
    origins = window_origins(history, params)
    print(f"[{name}] {history[SERIES].nunique()} series, {len(history):,} rows, windows after "
          f"{[str(o.date()) for o in origins]}", flush=True)
    t0 = time.perf_counter()
    new = ours(history, params, covariates)
    print(f"[{name}] hashiramart {time.perf_counter() - t0:.0f} s, chose {new['chosen']}", flush=True)
    t0 = time.perf_counter()
    old = ours(history, params.replace(feature_set=1, objective="tweedie", short_horizons=[]), covariates)
    print(f"[{name}] hashiramart_v1 {time.perf_counter() - t0:.0f} s", flush=True)
    frame = new["frame"][[SERIES, DATE, "window", "actual", "forecast", "baseline"]].rename(
        columns={"forecast": "hashiramart", "baseline": "seasonal_naive"})
    frame = frame.merge(old["frame"][[SERIES, DATE, "forecast"]].rename(columns={"forecast": "hashiramart_v1"}),
                        on=[SERIES, DATE], how="inner")
    models = ["hashiramart", "hashiramart_v1", "seasonal_naive"]
    peer = None
    if with_peer:
        t0 = time.perf_counter()
        peer = mlforecast_reference(history, origins, horizon, covariates,
                                    log_target=new["chosen"].endswith("log1p"))
        print(f"[{name}] mlforecast {time.perf_counter() - t0:.0f} s", flush=True)
        frame = frame.merge(peer["frame"][[SERIES, DATE, "mlforecast"]], on=[SERIES, DATE], how="inner")
        models.insert(2, "mlforecast")
    pooled = {m: figures(frame, m) for m in models}
    windows = {int(k): {m: figures(part, m) for m in models} for k, part in frame.groupby("window")}
    naive = pooled["seasonal_naive"]
    gains = {m: {metric: round(1 - pooled[m][metric] / naive[metric], 4) for metric in naive}
             for m in models if m != "seasonal_naive"}
    return {
        "name": name, "horizon": horizon, "n_series": int(history[SERIES].nunique()), "rows": len(history),
        "n_eval_points": len(frame), "window_train_ends": [str(o.date()) for o in origins],
        "covariates": [c.to_dict() | {"categories": len(c.categories)} for c in covariates],
        "chosen": new["chosen"], "selection_scores": {k: round(v, 4) for k, v in new["selection"].items()},
        "seconds": {"hashiramart_selection": new["selection_s"], "hashiramart_windows": new["window_s"],
                    "hashiramart_v1_windows": old["window_s"],
                    "mlforecast_windows": peer["window_s"] if peer else None},
        "pooled": pooled, "windows": windows, "gain_vs_seasonal_naive": gains,
    }


def online_retail_histories(path: Path, top_products: int) -> dict[str, pd.DataFrame]:
    """Daily product and category series of the real file, through the project's importer.

    Products: the ``top_products`` best sellers by units (all 4,007 take ~1.3M series-days; the tail is
    mostly zeros, where every model predicts ~0 and WAPE is decided by the best sellers anyway)."""
    from hashiramart_assets.importers.online_retail import import_online_retail
    from hashiramart_assets.ml.forecast.landing import daily_sales_from_landing

    landing = Path(tempfile.mkdtemp(prefix="bench-forecast-")) / "landing"
    import_online_retail(path, landing)
    daily = daily_sales_from_landing(landing)
    out = {grain: history_from_daily_sales(daily, grain=grain) for grain in ("category", "product")}
    if top_products:
        products = out["product"]
        best = products.groupby(SERIES)[SALES].sum().nlargest(top_products).index
        out["product"] = products.loc[products[SERIES].isin(best)].reset_index(drop=True)
    return out


def store_history(sales: Path | None, stores: Path | None, n_stores: int) -> tuple[pd.DataFrame, tuple, str]:
    if sales is None:
        folder = Path(tempfile.mkdtemp(prefix="bench-stores-"))
        files = write_store_sales(folder, stores=n_stores)
        sales, stores = files.sales, files.stores
        label = f"store sales like Rossmann (generated, {n_stores} stores; benchmarks/store_sales_like.py)"
    else:
        label = f"store sales {sales.name}" + (f" + {stores.name}" if stores else "")
    loaded = load_sales_history(sales, attributes_path=stores)
    return loaded.history, loaded.covariates, label


def covariate_list(covariates: list[dict]) -> str:
    names = [c["source"] + ("" if c["known_ahead"] else " (past only)") for c in covariates]
    return ", ".join(names) or "none"


def markdown(results: list[dict], command: str, peak_mb: float) -> str:
    lines = ["# Forecaster on store sales and on the shared real shop", "",
             f"{platform.processor() or platform.machine()}, 2 threads, Python {platform.python_version()}; "
             f"peak RSS {peak_mb:.0f} MB. Command: `{command}`.", "",
             "Same rolling windows (3 x H days ending at the last day) and the same open, observed series-days "
             "for every model. Gain = 1 - model / seasonal naive.", ""]
    for r in results:
        lines += [f"## {r['name']}", "",
                  f"{r['n_series']} series, {r['rows']:,} rows, H = {r['horizon']}, {r['n_eval_points']:,} scored "
                  f"series-days; windows after {', '.join(r['window_train_ends'])}. Objective chosen on the "
                  f"window before the first: **{r['chosen']}** (validation {r['selection_scores']}). "
                  f"Covariates: {covariate_list(r['covariates'])}.",
                  "", "| model | WAPE | RMSE | RMSPE | WAPE gain | RMSPE gain |", "|---|---:|---:|---:|---:|---:|"]
        for model, f in r["pooled"].items():
            gain = r["gain_vs_seasonal_naive"].get(model, {})
            lines.append(f"| {model} | {f['wape']} | {f['rmse']} | {f['rmspe']} | "
                         f"{gain.get('wape', '')} | {gain.get('rmspe', '')} |")
        lines += ["", "Per window (WAPE / RMSPE):", "", "| window | " + " | ".join(r["pooled"]) + " |",
                  "|---|" + "---:|" * len(r["pooled"])]
        for k, per in r["windows"].items():
            lines.append(f"| {k} | " + " | ".join(f"{per[m]['wape']} / {per[m]['rmspe']}" for m in r["pooled"]) + " |")
        lines += ["", f"Seconds: {r['seconds']}", ""]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sales", type=Path, default=None, help="a real store-sales file (Rossmann layout)")
    parser.add_argument("--stores", type=Path, default=None, help="its per-store attributes file")
    parser.add_argument("--n-stores", type=int, default=1115, help="generated stores when --sales is not given")
    parser.add_argument("--retail", type=Path, default=SHARED, help="the Online Retail file")
    parser.add_argument("--top-products", type=int, default=500, help="best-selling products scored (0: all)")
    parser.add_argument("--skip", choices=["stores", "retail"], action="append", default=[])
    parser.add_argument("--no-peer", action="store_true", help="skip mlforecast")
    args = parser.parse_args()
    results = []
    if "retail" not in args.skip:
        for grain, history in online_retail_histories(args.retail, args.top_products).items():
            label = f"top {args.top_products} products" if grain == "product" and args.top_products else grain
            results.append(compare(f"Online Retail II 2009-2010 (real), per {label}", history, 28, (),
                                   not args.no_peer))
    if "stores" not in args.skip:
        history, covariates, label = store_history(args.sales, args.stores, args.n_stores)
        results.append(compare(label, history, 42, covariates, not args.no_peer))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    command = "python benchmarks/bench_forecaster_real.py " + " ".join(sys.argv[1:])
    REPORTS.mkdir(exist_ok=True)
    (REPORTS / "forecaster_real.json").write_text(json.dumps({"results": results, "peak_rss_mb": round(peak)},
                                                             indent=2, default=str) + "\n")
    (REPORTS / "forecaster_real.md").write_text(markdown(results, command.strip(), peak))
    print(markdown(results, command.strip(), peak))


if __name__ == "__main__":
    main()
