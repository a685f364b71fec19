"""`hashiramart backtest-forecast FILE`: the same backtest as the model asset, on any long-format sales file."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from hashiramart_assets.cli import main
from hashiramart_assets.datagen import GeneratorConfig, generate
from hashiramart_assets.ml.forecast.landing import daily_sales_from_landing

METRICS = {"wape", "rmse", "rmspe", "mape_nonzero", "interval_coverage", "baseline_seasonal_naive_wape",
           "baseline_seasonal_naive_rmse", "baseline_seasonal_naive_rmspe", "baseline_seasonal_naive_mape_nonzero"}


def _long_format(tmp_path) -> pd.DataFrame:
    generate(GeneratorConfig(events=20_000, days=70, seed=3), tmp_path / "landing")
    daily = daily_sales_from_landing(tmp_path / "landing")
    category = daily[daily["grain"] == "category"]
    return pd.DataFrame({"series_id": category["item_id"], "date": category["date"].dt.strftime("%d/%m/%Y"),
                         "sales": category["units"], "promo": category["promo"].astype(int),
                         "price": category["list_price"]})


def test_backtest_forecast_prints_and_writes_every_metric(tmp_path):
    frame = _long_format(tmp_path)
    source = tmp_path / "sales.csv"
    frame.to_csv(source, index=False)
    out = tmp_path / "metrics.json"
    result = CliRunner().invoke(main, ["backtest-forecast", str(source), "--horizon", "7", "--output", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert set(report["metrics"]) >= METRICS
    assert report["horizon"] == 7 and report["load"]["input_rows"] == len(frame)
    assert 0 < report["metrics"]["n_series"] <= frame["series_id"].nunique()  # series scored in the window
    assert 0 <= report["metrics"]["interval_coverage"] <= 1 and report["metrics"]["wape"] > 0


def test_backtest_forecast_explains_bad_files(tmp_path):
    short = pd.DataFrame({"series_id": ["a"] * 10, "date": pd.date_range("2025-01-01", periods=10), "sales": 1.0})
    path = tmp_path / "short.csv"
    short.to_csv(path, index=False)
    result = CliRunner().invoke(main, ["backtest-forecast", str(path), "--horizon", "7"])
    assert result.exit_code == 1 and "too little history" in result.output and "short.csv" in result.output
    no_sales = tmp_path / "no_sales.csv"
    short.drop(columns="sales").to_csv(no_sales, index=False)
    result = CliRunner().invoke(main, ["backtest-forecast", str(no_sales)])
    assert result.exit_code == 1 and "sales" in result.output and "no_sales.csv" in result.output
