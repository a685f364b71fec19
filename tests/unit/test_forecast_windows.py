"""The rolling-origin backtest never lets a window, or the objective choice, see the sales it is judged on."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hashiramart_assets.ml.forecast import ForecasterParams, backtest
from hashiramart_assets.ml.forecast.backtest import window_origins
from hashiramart_assets.ml.forecast.history import prepare_history
from hashiramart_assets.ml.forecast.model import predict, train
from hashiramart_assets.ml.forecast.persistence import load_forecaster, save_forecaster

H = 14
PARAMS = ForecasterParams(horizon=H, n_estimators=30, backtest_windows=3)  # "auto" objective, a 7-day model


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    dates = pd.date_range("2024-01-01", periods=150, freq="D")
    weekly = np.array([1.2, 1.0, 0.9, 1.0, 1.1, 1.4, 0.6])
    frames = []
    for i in range(4):
        promo = (rng.random(len(dates)) < 0.25).astype(float)
        level = 20 + 15 * i
        sales = rng.poisson(level * weekly[dates.dayofweek] * (1 + 0.4 * promo)).astype(float)
        frames.append(pd.DataFrame({"series_id": f"s{i}", "date": dates, "sales": sales, "promo": promo}))
    return prepare_history(pd.concat(frames, ignore_index=True))[0]


def changed_after(history: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    out = history.copy()
    days = (out["date"] > start) & (out["date"] <= end)
    out.loc[days, "sales"] = out.loc[days, "sales"] * 3 + 40
    return out


@pytest.fixture(scope="module")
def reference(history: pd.DataFrame):
    return backtest(history, PARAMS)


def forecasts(result, window: int) -> pd.Series:
    frame = result.predictions
    return frame.loc[frame["window"] == window].set_index(["series_id", "date"])["forecast"]


def test_three_windows_of_h_days_end_at_the_last_day(history: pd.DataFrame, reference) -> None:
    origins = window_origins(history, PARAMS)
    assert [str(o.date()) for o in origins] == ["2024-04-17", "2024-05-01", "2024-05-15"]  # last day 05-29
    assert reference.metrics["n_windows"] == 3 and reference.metrics["n_eval_points"] == 3 * 4 * H
    assert reference.selection.how == "validation window 2024-04-04..2024-04-17"


def test_sales_of_the_last_window_change_no_forecast_and_no_choice(history: pd.DataFrame, reference) -> None:
    origins = window_origins(history, PARAMS)
    other = backtest(changed_after(history, origins[-1], history["date"].max()), PARAMS)
    for window in (1, 2, 3):
        pd.testing.assert_series_equal(forecasts(other, window), forecasts(reference, window))
    assert other.selection.scores == reference.selection.scores
    # ... while the actuals it is scored on did change (the test can fail)
    assert other.metrics["window_3_wape"] != reference.metrics["window_3_wape"]


def test_a_window_sees_the_days_before_it_but_none_after(history: pd.DataFrame, reference) -> None:
    origins = window_origins(history, PARAMS)
    other = backtest(changed_after(history, origins[1], origins[2]), PARAMS)  # window 2's days
    for window in (1, 2):
        pd.testing.assert_series_equal(forecasts(other, window), forecasts(reference, window))
    assert not forecasts(other, 3).equals(forecasts(reference, 3))  # window 3 trains on window 2's days
    assert other.selection.scores == reference.selection.scores


def test_the_objective_is_chosen_on_days_before_the_first_window(history: pd.DataFrame, reference) -> None:
    origins = window_origins(history, PARAMS)
    other = backtest(changed_after(history, origins[0] - pd.Timedelta(days=H), origins[0]), PARAMS)
    assert other.selection.scores != reference.selection.scores


def test_first_days_come_from_the_short_model(history: pd.DataFrame) -> None:
    forecaster = train(history, PARAMS.replace(objective="regression", target_transform="log1p"))
    assert set(forecaster.point_models) == {7, H}
    out = predict(forecaster, history)
    # With the 7-day model removed, days 1..7 change and days 8..14 do not.
    long_only = predict(type(forecaster)(**{**forecaster.__dict__, "short_points": ()}), history)
    first = out["date"] <= history["date"].max() + pd.Timedelta(days=7)
    assert (out.loc[~first, "forecast"].to_numpy() == long_only.loc[~first, "forecast"].to_numpy()).all()
    assert (out.loc[first, "forecast"].to_numpy() != long_only.loc[first, "forecast"].to_numpy()).mean() > 0.9
    assert (out["lower"] <= out["forecast"]).all() and (out["forecast"] <= out["upper"]).all()


def test_save_and_load_keep_short_models_encodings_and_covariates(history: pd.DataFrame, tmp_path) -> None:
    with_covariate = history.assign(x_schoolholiday=(history["date"].dt.month == 3).astype(float))
    forecaster = train(with_covariate, PARAMS.replace(objective="tweedie"))
    assert [c.name for c in forecaster.covariates] == ["x_schoolholiday"]
    assert set(forecaster.encodings.level) == {"s0", "s1", "s2", "s3"}
    written = {p.name for p in save_forecaster(forecaster, tmp_path / "model")}
    assert "point_model_h7.txt" in written
    restored = load_forecaster(tmp_path / "model")
    assert restored.covariates == forecaster.covariates and restored.encodings == forecaster.encodings
    pd.testing.assert_frame_equal(predict(restored, with_covariate), predict(forecaster, with_covariate))
