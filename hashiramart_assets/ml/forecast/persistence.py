"""Saving a forecaster to a folder and back, and what MLflow needs to log the point model.

Why a folder of LightGBM text files: the point model goes to MLflow with the LightGBM flavour, but the
two quantile models and the series-code map have no flavour of their own; as plain text files next to a
small JSON they can be logged as run artifacts and read back without pickle.
"""

from __future__ import annotations

import json
from pathlib import Path

import lightgbm as lgb
import pandas as pd

from hashiramart_assets.ml.forecast.covariates import Covariate
from hashiramart_assets.ml.forecast.encodings import TargetEncodings
from hashiramart_assets.ml.forecast.model import SalesForecaster, forecast_features
from hashiramart_assets.ml.forecast.params import ForecasterParams

MODEL_FILES = {"point": "point_model.txt", "lower": "lower_quantile_model.txt", "upper": "upper_quantile_model.txt"}
META_FILE = "forecaster.json"


def short_model_file(horizon: int) -> str:
    return f"point_model_h{horizon}.txt"


def save_forecaster(forecaster: SalesForecaster, directory: str | Path) -> list[Path]:
    """Write the three boosters (text format) and forecaster.json into ``directory``; return the paths."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for attribute, filename in MODEL_FILES.items():
        getattr(forecaster, attribute).save_model(str(folder / filename))
        written.append(folder / filename)
    for horizon, booster in forecaster.point_models.items():
        if horizon != forecaster.params.horizon:
            booster.save_model(str(folder / short_model_file(horizon)))
            written.append(folder / short_model_file(horizon))
    meta = {
        "params": forecaster.params.to_dict(),
        "series_codes": forecaster.series_codes,
        "train_end": str(forecaster.train_end.date()),
        "n_train_rows": forecaster.n_train_rows,
        "feature_names": forecaster.feature_names,
        "interval_scale": forecaster.interval_scale,
        "covariates": [c.to_dict() for c in forecaster.covariates],
        "encodings": forecaster.encodings.to_dict() if forecaster.encodings else None,
    }
    (folder / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
    written.append(folder / META_FILE)
    return written


def save_quantile_models(forecaster: SalesForecaster, directory: str | Path) -> list[Path]:
    """Only what MLflow's LightGBM flavour does not cover: the quantile boosters and forecaster.json."""
    return [p for p in save_forecaster(forecaster, directory) if p.name != MODEL_FILES["point"]]


def load_forecaster(directory: str | Path, point: lgb.Booster | None = None) -> SalesForecaster:
    """Read back what ``save_forecaster`` wrote; ``point`` replaces the point model (e.g. one from MLflow)."""
    folder = Path(directory)
    meta = json.loads((folder / META_FILE).read_text())
    boosters = {}
    for attribute, filename in MODEL_FILES.items():
        if attribute == "point" and point is not None:
            boosters[attribute] = point
        else:
            boosters[attribute] = lgb.Booster(model_file=str(folder / filename))
    params = ForecasterParams.from_dict(meta["params"])
    short = tuple(lgb.Booster(model_file=str(folder / short_model_file(h))) for h in params.model_horizons()[:-1])
    return SalesForecaster(
        params=params,
        series_codes={str(k): int(v) for k, v in meta["series_codes"].items()},
        train_end=pd.Timestamp(meta["train_end"]),
        n_train_rows=int(meta["n_train_rows"]),
        interval_scale=float(meta.get("interval_scale", 0.0)),
        covariates=tuple(Covariate.from_dict(c) for c in meta.get("covariates", [])),
        encodings=TargetEncodings.from_dict(meta["encodings"]) if meta.get("encodings") else None,
        short_points=short,
        **boosters,
    )


def feature_frame_example(forecaster: SalesForecaster, history: pd.DataFrame, n_rows: int = 5) -> pd.DataFrame:
    """A few rows of real model input (the first forecast days), for MLflow's input_example / signature.

    ``forecaster.point.predict(example)`` is exactly the point forecast before clipping at 0.
    """
    _, features = forecast_features(forecaster, history)
    return features.head(n_rows).reset_index(drop=True)


def model_signature(forecaster: SalesForecaster, example: pd.DataFrame):
    """MLflow ModelSignature of the point model (imported lazily: MLflow is slow to import)."""
    from mlflow.models import infer_signature

    return infer_signature(example, forecaster.point.predict(example))
