"""The forecaster as one MLflow pyfunc: log, register, load, predict like the model, reject bad input clearly;
older LightGBM-flavour versions still load; the trainer logs the pyfunc and the backtest figures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import mlflow
import mlflow.lightgbm
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from hashiramart_assets.ml import registry
from hashiramart_assets.ml.forecast import ForecasterParams, SalesForecaster, plots, save_forecaster, train
from hashiramart_assets.ml.forecast.pyfunc import (
    ForecasterPyfunc,
    input_example,
    is_pyfunc_model,
    load_version_forecaster,
    pyfunc_artifacts,
    pyfunc_log_kwargs,
)
from hashiramart_assets.ml.registration import Lineage
from hashiramart_assets.ml.train_forecaster import load_champion_forecaster, train_forecaster

H = 7
FAST = ForecasterParams(horizon=H, n_estimators=30, objective="tweedie", short_horizons=(), backtest_windows=1)
N_SERIES, N_DAYS = 5, 120


def tiny_history(seed: int = 0) -> pd.DataFrame:
    """Five daily series (weekend and promo lift, Poisson noise), enough for a 7-day model in about a second."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2025-01-01", periods=N_DAYS, freq="D")
    parts = []
    for s in range(N_SERIES):
        promo = (rng.random(N_DAYS) < 0.15).astype("float64")
        mean = (10 + 5 * s) * (1 + 0.3 * (days.dayofweek >= 5)) * (1 + 0.5 * promo)
        parts.append(pd.DataFrame({"series_id": f"s{s}", "date": days, "sales": rng.poisson(mean).astype("float64"),
                                   "promo": promo, "price": 2.0 + s}))
    return pd.concat(parts, ignore_index=True)


@dataclass(frozen=True)
class Store:
    uri: str
    client: MlflowClient


@pytest.fixture(scope="module")
def history() -> pd.DataFrame:
    return tiny_history()


@pytest.fixture(scope="module")
def forecaster(history: pd.DataFrame) -> SalesForecaster:
    return train(history, FAST)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A SQLite tracking store and registry in a temporary folder, artifacts beside it; the global URI restored."""
    folder = tmp_path_factory.mktemp("mlflow-forecaster")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    previous = mlflow.get_tracking_uri() if mlflow.tracking.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(uri)
    try:
        client = MlflowClient(uri)
        experiment = client.create_experiment("forecaster-pyfunc", artifact_location=(folder / "artifacts").as_uri())
        mlflow.set_experiment(experiment_id=experiment)
        yield Store(uri, client)
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="module")
def logged(store: Store, forecaster: SalesForecaster, history: pd.DataFrame,
           tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """The forecaster logged as the pyfunc and registered (version 1 of registry.FORECASTER)."""
    with mlflow.start_run() as run:
        info = mlflow.pyfunc.log_model(name="model", registered_model_name=registry.FORECASTER,
                                       **pyfunc_log_kwargs(forecaster, history, tmp_path_factory.mktemp("work")))
    return SimpleNamespace(run_id=run.info.run_id, version=str(info.registered_model_version))


@pytest.fixture(scope="module")
def legacy(store: Store, forecaster: SalesForecaster, tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A version registered the way train_forecaster did before the pyfunc: LightGBM flavour + forecaster/."""
    folder = tmp_path_factory.mktemp("legacy")
    save_forecaster(forecaster, folder)
    with mlflow.start_run() as run:
        mlflow.log_artifacts(str(folder), artifact_path="forecaster")
        info = mlflow.lightgbm.log_model(forecaster.point, name="model", registered_model_name=registry.FORECASTER,
                                         pip_requirements=["lightgbm"])  # no slow requirement inference
    return SimpleNamespace(run_id=run.info.run_id, version=str(info.registered_model_version))


@pytest.fixture(scope="module")
def wrapper(forecaster: SalesForecaster, tmp_path_factory: pytest.TempPathFactory) -> ForecasterPyfunc:
    python_model = ForecasterPyfunc()
    artifacts = pyfunc_artifacts(forecaster, tmp_path_factory.mktemp("art"))
    python_model.load_context(SimpleNamespace(artifacts=artifacts))
    return python_model


def test_registered_pyfunc_predicts_like_the_forecaster(store, logged, forecaster, history):
    loaded = mlflow.pyfunc.load_model(f"models:/{registry.FORECASTER}/{logged.version}")
    got = loaded.predict(history)
    expected = forecaster.predict(history)
    pd.testing.assert_frame_equal(got, expected)
    assert list(got.columns) == ["series_id", "date", "forecast", "lower", "upper"]
    assert len(got) == N_SERIES * H and got.groupby("series_id").size().eq(H).all()
    assert (got["lower"] <= got["forecast"]).all() and (got["forecast"] <= got["upper"]).all()
    assert (got["lower"] < got["upper"]).any() and (got["lower"] >= 0).all()
    # the horizon is a param (1..H); ISO date strings are history dates too
    short = loaded.predict(history.assign(date=history["date"].dt.strftime("%Y-%m-%d")), params={"horizon": 3})
    pd.testing.assert_frame_equal(short, forecaster.predict(history, 3))
    unwrapped = loaded.unwrap_python_model().model
    assert isinstance(unwrapped, SalesForecaster) and unwrapped.series_codes == forecaster.series_codes
    assert unwrapped.interval_scale == forecaster.interval_scale != 0.0


def test_signature_input_example_and_metadata_are_stored(store, logged, forecaster, history):
    source = store.client.get_model_version_download_uri(registry.FORECASTER, logged.version)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=source))
    assert is_pyfunc_model(local)
    assert (local / "input_example.json").is_file() and (local / "serving_input_example.json").is_file()
    model = mlflow.pyfunc.load_model(str(local))
    signature = model.metadata.signature
    required = {spec.name: spec.required for spec in signature.inputs.inputs}
    assert required == {"series_id": True, "date": True, "sales": True, "promo": False, "open": False,
                        "holiday": False, "price": False, "imputed": False}
    assert [spec.name for spec in signature.outputs.inputs] == ["series_id", "date", "forecast", "lower", "upper"]
    assert [(p.name, p.default) for p in signature.params.params] == [("horizon", H)]
    assert model.metadata.metadata == {"horizon": H, "quantiles": [0.1, 0.9], "interval_level": 0.8,
                                       "train_end": "2025-04-30",
                                       "output_columns": ["series_id", "date", "forecast", "lower", "upper"]}
    example = model.input_example
    # the two best-selling series, the last H + 28 days of each
    assert sorted(example["series_id"].unique()) == ["s3", "s4"]
    assert example.groupby("series_id").size().eq(H + 28).all()
    pd.testing.assert_frame_equal(example.reset_index(drop=True), input_example(forecaster, history),
                                  check_dtype=False, check_datetimelike_compat=True)
    assert len(model.predict(example)) == 2 * H


def test_bad_input_through_mlflow_names_the_field(store, logged, history):
    loaded = mlflow.pyfunc.load_model(f"models:/{registry.FORECASTER}/{logged.version}")
    with pytest.raises(MlflowException, match=r"missing inputs.*sales"):
        loaded.predict(history.drop(columns="sales"))
    with pytest.raises(MlflowException, match="column date"):
        loaded.predict(history.assign(date="not a date"))
    with pytest.raises(ValueError, match="horizon"):
        loaded.predict(history, params={"horizon": H + 1})


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda h: h.drop(columns="sales"), "sales"),
        (lambda h: h.drop(columns=["series_id", "date"]), "series_id"),
        (lambda h: h.assign(date="not a date"), "date"),
        (lambda h: h.assign(date=np.arange(len(h))), "date"),
        (lambda h: h.assign(sales="x"), "sales"),
        (lambda h: h.assign(price="cheap"), "price"),
        (lambda h: h.assign(series_id=None), "series_id"),
        (lambda h: h.assign(imputed="maybe"), "imputed"),
        (lambda h: pd.concat([h, h.head(1)]), r"\(series_id, date\)"),
        (lambda h: h.head(0), "no rows"),
    ],
)
def test_bad_history_raises_value_error_naming_the_field(wrapper, history, change, field):
    with pytest.raises(ValueError, match=field):
        wrapper.predict(None, change(history))


@pytest.mark.parametrize("horizon", [0, H + 1, 2.5, "7"])
def test_bad_horizon_raises_value_error(wrapper, history, horizon):
    with pytest.raises(ValueError, match="horizon"):
        wrapper.predict(None, history, params={"horizon": horizon})


def test_both_layouts_load_in_the_trainer_and_in_serving(store, logged, legacy, forecaster, history):
    from serving.model_store import ModelStore

    expected = forecaster.predict(history)
    serving = ModelStore(store.uri, poll_seconds=0, sales_history=lambda: history)  # not a mart: no table
    for version in (logged, legacy):
        source = store.client.get_model_version_download_uri(registry.FORECASTER, version.version)
        pd.testing.assert_frame_equal(load_version_forecaster(source, version.run_id, store.uri).predict(history),
                                      expected)
        pd.testing.assert_frame_equal(load_champion_forecaster(version.run_id).predict(history), expected)
        handle = serving._load_forecaster(version.version, version.run_id)
        pd.testing.assert_frame_equal(handle.forecaster.predict(history), expected)
        assert handle.table is None and "sales history unavailable" in handle.table_error
    legacy_dir = mlflow.artifacts.download_artifacts(
        artifact_uri=store.client.get_model_version_download_uri(registry.FORECASTER, legacy.version))
    assert not is_pyfunc_model(legacy_dir)


def test_backtest_figures(store, forecaster, history):
    actual = history.loc[history["date"] > history["date"].max() - pd.Timedelta(days=H)].reset_index(drop=True)
    past = history.loc[history["date"] <= history["date"].max() - pd.Timedelta(days=H)]
    predictions = actual.rename(columns={"sales": "actual"}).merge(forecaster.predict(past), on=["series_id", "date"])
    predictions["window"], predictions["baseline"] = 1, predictions["actual"].shift(1).bfill()
    best = predictions.groupby("series_id")["actual"].sum().sort_values(ascending=False).index[:3].tolist()
    assert plots.top_series(plots.last_window(predictions), 3) == best
    with mlflow.start_run() as run:
        paths = plots.log_backtest_figures(predictions, (0.1, 0.9))
    assert paths == ["backtest/forecast_vs_actual.png", "backtest/interval.png"]
    folder = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="backtest"))
    for path in paths:
        assert (folder / Path(path).name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_forecaster_registers_the_pyfunc_and_logs_figures(store, history):
    training = train_forecaster(history, FAST, Lineage("unit", "test", {"history": "1"}), store.client)
    version = training.registration.version
    mv = store.client.get_model_version(registry.FORECASTER, version)
    artifacts = {a.path for a in store.client.list_artifacts(mv.run_id)}
    assert {"backtest", "forecaster", "backtest_windows.json"} <= artifacts
    figures = {a.path for a in store.client.list_artifacts(mv.run_id, "backtest")}
    assert figures == {"backtest/forecast_vs_actual.png", "backtest/interval.png"}
    loaded = mlflow.pyfunc.load_model(f"models:/{registry.FORECASTER}/{version}")
    assert loaded.metadata.signature.params is not None and loaded.input_example is not None
    pd.testing.assert_frame_equal(loaded.predict(history), training.forecaster.predict(history))
    pd.testing.assert_frame_equal(load_champion_forecaster(mv.run_id).predict(history),
                                  training.forecaster.predict(history))
