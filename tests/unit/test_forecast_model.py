"""Training, prediction, backtest and MLflow logging on data from the project's own generator."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow.lightgbm
import mlflow.pyfunc
import numpy as np
import pandas as pd
import pytest

from hashiramart_assets.datagen import GeneratorConfig, generate
from hashiramart_assets.ml.forecast import (
    BacktestResult,
    ForecasterParams,
    SalesForecaster,
    backtest,
    feature_frame_example,
    history_from_daily_sales,
    load_forecaster,
    model_signature,
    predict,
    run_backtest_file,
    save_quantile_models,
    train,
)
from hashiramart_assets.ml.forecast.landing import daily_sales_from_landing

H = 28
# Enough for invariants: one window, a fixed objective, one point model. The backtest uses the defaults.
FAST = ForecasterParams(n_estimators=60, objective="tweedie", short_horizons=(), backtest_windows=1)
WINDOW_FIGURES = ("wape", "rmspe", "baseline_seasonal_naive_wape", "baseline_seasonal_naive_rmspe")


def metric_names(windows: int) -> set[str]:
    return {
        "wape", "rmse", "rmspe", "mape_nonzero", "interval_coverage", "baseline_seasonal_naive_wape",
        "baseline_seasonal_naive_rmse", "baseline_seasonal_naive_rmspe", "baseline_seasonal_naive_mape_nonzero",
        "n_series", "n_eval_points", "horizon", "train_end", "n_windows",
        *(f"window_{k}_{name}" for k in range(1, windows + 1) for name in WINDOW_FIGURES),
    }


@pytest.fixture(scope="module")
def daily_sales(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    landing = tmp_path_factory.mktemp("forecast-landing")
    generate(GeneratorConfig(events=60_000, days=200, seed=7), landing)
    return daily_sales_from_landing(landing)


@pytest.fixture(scope="module")
def categories(daily_sales: pd.DataFrame) -> pd.DataFrame:
    return history_from_daily_sales(daily_sales, grain="category")


@pytest.fixture(scope="module")
def category_backtest(categories: pd.DataFrame) -> BacktestResult:
    return backtest(categories, ForecasterParams(horizon=H))


@pytest.fixture(scope="module")
def forecaster(categories: pd.DataFrame) -> SalesForecaster:
    return train(categories, FAST)


def test_generated_history_is_dense_daily_units(daily_sales: pd.DataFrame, categories: pd.DataFrame) -> None:
    assert categories["series_id"].str.startswith("category:").all()
    spans = categories.groupby("series_id")["date"].agg(["min", "max", "size"])
    assert ((spans["max"] - spans["min"]).dt.days + 1 == spans["size"]).all()
    # Category units are the sum of that day's product units (same order lines, two grains).
    products = daily_sales[daily_sales["grain"] == "product"]
    assert categories["sales"].sum() == products["units"].sum()


def test_model_beats_seasonal_naive_at_category_level(category_backtest: BacktestResult) -> None:
    metrics = category_backtest.metrics
    assert set(metrics) == metric_names(3)
    assert metrics["wape"] < metrics["baseline_seasonal_naive_wape"]
    assert metrics["rmse"] < metrics["baseline_seasonal_naive_rmse"]
    assert metrics["horizon"] == H
    assert metrics["n_series"] == 25
    # 3 windows x 25 categories x 28 days, every day open in generated data
    assert metrics["n_windows"] == 3 and metrics["n_eval_points"] == 3 * 25 * H
    assert metrics["train_end"] == "2025-06-21"  # last day 2025-07-19 minus 28 days
    # the pooled WAPE is the actual-weighted mean of the windows' WAPEs
    frame = category_backtest.predictions
    weights = frame.groupby("window")["actual"].sum()
    pooled = sum(metrics[f"window_{k}_wape"] * weights[k] for k in (1, 2, 3)) / weights.sum()
    assert metrics["wape"] == pytest.approx(pooled, abs=1e-5)
    # "auto" was resolved on the 28 days before the first window, one score per candidate
    assert category_backtest.params.objective in {"tweedie", "regression"}
    assert category_backtest.selection.how == "validation window 2025-03-30..2025-04-26"
    assert set(category_backtest.selection.scores) == {"tweedie/none", "regression/log1p", "regression/none"}
    # conformal calibration: the raw quantile models covered 0.71 here; calibrated, close to the nominal 0.8
    assert 0.75 <= metrics["interval_coverage"] <= 0.95


def test_backtest_frame_agrees_with_metrics(category_backtest: BacktestResult, categories: pd.DataFrame) -> None:
    frame = category_backtest.predictions
    assert len(frame) == category_backtest.metrics["n_eval_points"]
    # three windows of 28 days: 2025-04-27..05-24, 05-25..06-21, 06-22..07-19
    assert frame["date"].min() == pd.Timestamp("2025-04-27") and frame["date"].max() == pd.Timestamp("2025-07-19")
    assert frame.groupby("window")["date"].agg(["min", "max"]).astype(str).values.tolist() == [
        ["2025-04-27", "2025-05-24"], ["2025-05-25", "2025-06-21"], ["2025-06-22", "2025-07-19"]]
    errors = (frame["actual"] - frame["forecast"]).abs().sum() / frame["actual"].sum()
    assert category_backtest.metrics["wape"] == pytest.approx(errors)
    actual = categories.merge(frame[["series_id", "date", "actual"]], on=["series_id", "date"])
    assert (actual["sales"] == actual["actual"]).all()


def test_predict_shape_and_invariants(forecaster: SalesForecaster, categories: pd.DataFrame) -> None:
    out = predict(forecaster, categories)
    assert list(out.columns) == ["series_id", "date", "forecast", "lower", "upper"]
    assert len(out) == 25 * H
    assert out["date"].min() == pd.Timestamp("2025-07-20") and out["date"].max() == pd.Timestamp("2025-08-16")
    assert (out["forecast"] >= 0).all() and (out["lower"] >= 0).all()
    assert (out["lower"] <= out["forecast"]).all() and (out["forecast"] <= out["upper"]).all()
    assert (out["upper"] > out["lower"]).mean() > 0.9  # a real interval, not a point
    shorter = forecaster.predict(categories, horizon=7)
    assert len(shorter) == 25 * 7
    with pytest.raises(ValueError, match="horizon"):
        predict(forecaster, categories, horizon=H + 1)


def test_known_closed_days_are_forecast_zero(forecaster: SalesForecaster, categories: pd.DataFrame) -> None:
    future = pd.DataFrame({"series_id": "category:Socks", "date": pd.to_datetime(["2025-07-22", "2025-07-23"]),
                           "open": [0, 1]})
    out = predict(forecaster, categories, future=future).set_index(["series_id", "date"])
    closed = out.loc[("category:Socks", pd.Timestamp("2025-07-22"))]
    assert closed.tolist() == [0.0, 0.0, 0.0]
    assert out.loc[("category:Socks", pd.Timestamp("2025-07-23")), "forecast"] > 0


def test_same_seed_same_data_identical_predictions(forecaster: SalesForecaster, categories: pd.DataFrame) -> None:
    again = train(categories, FAST)
    pd.testing.assert_frame_equal(predict(forecaster, categories), predict(again, categories), check_exact=True)


def test_final_model_reuses_the_backtests_calibration_models(categories: pd.DataFrame,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """The backtest's quantile models are the calibration fits of the final model: same margin, 2 fits fewer."""
    from hashiramart_assets.ml.forecast import model as forecast_model

    fits = []
    real_fit = forecast_model._fit
    monkeypatch.setattr(forecast_model, "_fit", lambda *a: fits.append(a[0]["objective"]) or real_fit(*a))
    result = backtest(categories, FAST)
    assert result.forecaster is not None and len(fits) == 5  # 2 calibration quantile fits + point + 2 quantile
    fits.clear()
    fresh = train(categories, FAST)
    assert fits == ["tweedie", "quantile", "quantile", "quantile", "quantile"]  # point, calibration, final
    fits.clear()
    reused = train(categories, FAST, calibration_from=result.forecaster)
    assert fits == ["tweedie", "quantile", "quantile"]
    assert fresh.interval_scale > 0 and reused.interval_scale == fresh.interval_scale
    pd.testing.assert_frame_equal(predict(reused, categories), predict(fresh, categories))
    # a series that is new in the last days (a product launch) gets the next code; the rest keep theirs
    last = categories.loc[categories["date"] > categories["date"].max() - pd.Timedelta(days=10)]
    launched = pd.concat([categories, last.loc[last["series_id"] == last["series_id"].iloc[0]]
                          .assign(series_id="category:Launched")], ignore_index=True)
    window = backtest(launched, FAST)
    assert "category:Launched" not in window.forecaster.series_codes
    fits.clear()
    with_launch = train(launched, FAST, calibration_from=window.forecaster)
    assert fits == ["tweedie", "quantile", "quantile"]
    old_codes = window.forecaster.series_codes
    assert with_launch.series_codes == {**old_codes, "category:Launched": len(old_codes)}
    # a forecaster of other rows (here: other parameters) is not reused
    fits.clear()
    other = train(categories, FAST, calibration_from=train(categories.loc[categories["date"] < "2025-05-01"], FAST))
    assert fits.count("quantile") == 4 + 4 and other.interval_scale == fresh.interval_scale  # inner + outer train


def test_mlflow_lightgbm_flavour_round_trip(forecaster: SalesForecaster, categories: pd.DataFrame,
                                           tmp_path: Path) -> None:
    example = feature_frame_example(forecaster, categories)
    assert list(example.columns) == forecaster.feature_names and len(example) == 5
    in_memory = forecaster.point.predict(example)
    # The example rows are the first forecast days of the first series: same numbers as predict().
    first = predict(forecaster, categories).head(5)["forecast"].to_numpy()
    np.testing.assert_allclose(np.clip(in_memory, 0, None), first)
    path = tmp_path / "point_model"
    mlflow.lightgbm.save_model(forecaster.point, str(path), signature=model_signature(forecaster, example),
                               input_example=example)
    loaded = mlflow.pyfunc.load_model(str(path))
    np.testing.assert_allclose(np.asarray(loaded.predict(example)).ravel(), in_memory, rtol=0, atol=1e-12)


def test_quantile_models_save_and_load(forecaster: SalesForecaster, categories: pd.DataFrame, tmp_path: Path) -> None:
    written = save_quantile_models(forecaster, tmp_path / "quantiles")
    assert sorted(p.name for p in written) == ["forecaster.json", "lower_quantile_model.txt",
                                               "upper_quantile_model.txt"]
    restored = load_forecaster(tmp_path / "quantiles", point=forecaster.point)
    assert restored.params == forecaster.params and restored.series_codes == forecaster.series_codes
    assert restored.interval_scale == forecaster.interval_scale != 0.0  # the calibration travels with the model
    pd.testing.assert_frame_equal(predict(restored, categories), predict(forecaster, categories))


def test_run_backtest_file_on_a_messy_export(categories: pd.DataFrame, tmp_path: Path) -> None:
    # The generated history as a store export would look: day-first dates, a junk column, two bad rows.
    export = categories[["series_id", "date", "sales", "promo", "price"]].copy()
    export["date"] = export["date"].dt.strftime("%d/%m/%Y")
    export["note"] = "x"
    bad = export.head(2).copy()
    bad["sales"] = ["-4", "lots"]
    path = tmp_path / "export.csv"
    pd.concat([export, bad], ignore_index=True).to_csv(path, index=False, encoding="latin-1")
    report = run_backtest_file(path, horizon=H, params=ForecasterParams(n_estimators=100))
    json.dumps(report)  # must be JSON-serialisable as is
    load = report["load"]
    assert load["input_rows"] == len(export) + 2
    assert load["accepted_rows"] == len(export) and load["rejected_rows"] == 2
    assert load["rejected_by_reason"] == {"negative_sales": 1, "non_numeric_sales": 1}  # first failing check
    assert load["ignored_columns"] == ["note"]
    assert set(report["metrics"]) == metric_names(report["metrics"]["n_windows"])
    assert report["metrics"]["n_windows"] == 3 and [w["window"] for w in report["windows"]] == [1, 2, 3]
    assert report["selection"]["chosen"] == f"{report['params']['objective']}/{report['params']['target_transform']}"
    assert report["details"]["n_series_without_history"] == 0
    assert report["metrics"]["wape"] < report["metrics"]["baseline_seasonal_naive_wape"]
    assert report["params"]["horizon"] == H


def test_run_backtest_file_with_too_little_history(tmp_path: Path) -> None:
    path = tmp_path / "short.csv"
    dates = pd.date_range("2025-01-01", periods=60)
    pd.DataFrame({"series_id": "s", "date": dates, "sales": 3.0}).to_csv(path, index=False)
    with pytest.raises(ValueError) as error:
        run_backtest_file(path, horizon=H)
    message = str(error.value)
    assert str(path) in message and "spans 60 days" in message and "need at least 70" in message
