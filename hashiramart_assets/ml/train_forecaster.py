"""Backtest, train, log and register the LightGBM sales forecaster in one MLflow run (no Dagster here).

The backtest (last horizon window held out) gives the metrics; the logged model is trained on the
whole history. The registered model is one pyfunc (forecast/pyfunc.py): sales history in, point forecast
and 80 % interval out, with its signature and an input example. The saved forecaster directory is also
logged as the run's ``forecaster/`` artifacts (what versions registered with the LightGBM flavour,
before the pyfunc, are loaded from). The backtest's last window is plotted (forecast/plots.py) into
``backtest/``.
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
from hashiramart_assets.ml.forecast import plots
from hashiramart_assets.ml.forecast import pyfunc as forecaster_pyfunc
from hashiramart_assets.ml.forecast.backtest import backtest
from hashiramart_assets.ml.forecast.params import ForecasterParams
from hashiramart_assets.ml.forecast.persistence import load_forecaster
from hashiramart_assets.ml.promotion import FORECASTER_RULE
from hashiramart_assets.ml.registration import (
    DATA_END_TAG,
    Lineage,
    RegistrationOutcome,
    log_params_json,
    register_and_decide,
)
from hashiramart_assets.ml.tracking import child_run

RUN_ARTIFACTS = "forecaster"  # the saved forecaster directory, also logged beside the registered pyfunc


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
    """Backtest on the last horizon, train on everything, log the pyfunc and the figures, register, judge."""
    result = backtest(history, params)
    metrics = _numeric(result.metrics)
    params = result.params or params  # "auto" resolved on a window before every scored one
    forecaster = forecast_model.train(history, params, calibration_from=result.forecaster)
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
        plots.log_backtest_figures(result.predictions, params.quantiles)
        with tempfile.TemporaryDirectory() as tmp:
            kwargs = forecaster_pyfunc.pyfunc_log_kwargs(forecaster, history, Path(tmp))
            mlflow.log_artifacts(kwargs["artifacts"][forecaster_pyfunc.ARTIFACT_KEY], artifact_path=RUN_ARTIFACTS)
            info = mlflow.pyfunc.log_model(name="model", registered_model_name=registry.FORECASTER, **kwargs)
        run_id = run.info.run_id

    def refit(champion_params: dict[str, Any]) -> dict[str, float]:
        return _numeric(backtest(history, ForecasterParams.from_dict(champion_params)).metrics)

    outcome = register_and_decide(
        client, registry.FORECASTER, str(info.registered_model_version), run_id, FORECASTER_RULE, metrics,
        params.to_dict(), lineage, refit,
    )
    return ForecasterTraining(forecaster, metrics, result.predictions, outcome)


def load_champion_forecaster(run_id: str) -> forecast_model.SalesForecaster:
    """The whole forecaster (point + quantile models, series codes) of the version registered from ``run_id``.

    A pyfunc version is loaded through MLflow and unwrapped; a version registered with the LightGBM
    flavour (before the pyfunc), or a run without a registered version, from the run's ``forecaster/``.
    """
    client = MlflowClient()
    versions = client.search_model_versions(f"name = '{registry.FORECASTER}' and run_id = '{run_id}'")
    if versions:
        latest = max(versions, key=lambda v: int(v.version))
        source = client.get_model_version_download_uri(registry.FORECASTER, str(latest.version))
        return forecaster_pyfunc.load_version_forecaster(source, run_id)
    with tempfile.TemporaryDirectory() as tmp:
        folder = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=RUN_ARTIFACTS, dst_path=tmp)
        return load_forecaster(folder)
