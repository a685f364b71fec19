"""Backtest, train, log and register the LightGBM sales forecaster in one MLflow run (no Dagster here).

The backtest (last horizon window held out) gives the metrics; the logged model is trained on the
whole history. The point model is logged with MLflow's LightGBM flavour; the two quantile models of
the 80 % interval travel with it as run artifacts (``quantile_models/``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient

from hashiramart_assets.ml import registry
from hashiramart_assets.ml.forecast import model as forecast_model
from hashiramart_assets.ml.forecast.backtest import backtest
from hashiramart_assets.ml.forecast.params import ForecasterParams
from hashiramart_assets.ml.forecast.persistence import (
    feature_frame_example,
    load_forecaster,
    model_signature,
    save_forecaster,
)
from hashiramart_assets.ml.promotion import FORECASTER_RULE
from hashiramart_assets.ml.registration import (
    DATA_END_TAG,
    Lineage,
    RegistrationOutcome,
    log_params_json,
    register_and_decide,
)
from hashiramart_assets.ml.tracking import child_run


@dataclass(frozen=True)
class ForecasterTraining:
    forecaster: forecast_model.SalesForecaster
    metrics: dict[str, float]
    backtest_predictions: pd.DataFrame
    registration: RegistrationOutcome


def _numeric(metrics: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def train_forecaster(
    history: pd.DataFrame,
    params: ForecasterParams,
    lineage: Lineage,
    client: MlflowClient,
    parent_run_id: str | None = None,
) -> ForecasterTraining:
    """Backtest on the last horizon, train on everything, log with the LightGBM flavour, register, judge."""
    result = backtest(history, params)
    metrics = _numeric(result.metrics)
    params = result.params or params  # "auto" resolved on a window before every scored one
    forecaster = forecast_model.train(history, params, calibration_from=result.forecaster)
    example = feature_frame_example(forecaster, history)
    with child_run(parent_run_id, "sales_forecaster", lineage.tags()) as run:
        log_params_json(params.to_dict())
        mlflow.log_metrics(metrics)
        mlflow.log_metric("interval_calibration_scale", forecaster.interval_scale)
        mlflow.set_tag("train_end", str(result.metrics.get("train_end", "")))
        if result.selection is not None:
            mlflow.set_tag("target_selection", result.selection.how)
            mlflow.log_metrics({f"selection_{k.replace('/', '_')}": v for k, v in result.selection.scores.items()})
        mlflow.log_dict({"windows": result.windows}, "backtest_windows.json")
        mlflow.set_tag(DATA_END_TAG, str(pd.to_datetime(history["date"]).max().date()))
        with tempfile.TemporaryDirectory() as tmp:
            save_forecaster(forecaster, Path(tmp))
            mlflow.log_artifacts(tmp, artifact_path="forecaster")
        info = mlflow.lightgbm.log_model(
            forecaster.point,
            name="model",
            signature=model_signature(forecaster, example),
            input_example=example,
            registered_model_name=registry.FORECASTER,
        )
        run_id = run.info.run_id

    def refit(champion_params: dict[str, Any]) -> dict[str, float]:
        return _numeric(backtest(history, ForecasterParams.from_dict(champion_params)).metrics)

    outcome = register_and_decide(
        client, registry.FORECASTER, str(info.registered_model_version), run_id, FORECASTER_RULE, metrics,
        params.to_dict(), lineage, refit,
    )
    return ForecasterTraining(forecaster, metrics, result.predictions, outcome)


def load_champion_forecaster(run_id: str) -> forecast_model.SalesForecaster:
    """The whole forecaster (point + quantile models, series codes) from a run's ``forecaster/`` artifacts."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="forecaster", dst_path=tmp)
        return load_forecaster(folder)
