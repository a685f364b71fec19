"""MLflow pyfunc wrapper of the whole forecaster: sales history in, point forecast and interval out.

Why a pyfunc and not the LightGBM flavour: the LightGBM flavour carries only the H-day point booster, whose
input is an internal feature frame; the short-horizon point models, the two quantile models, the
calibration, the series codes and the encodings travelled beside it as run artifacts. As one pyfunc the
registered version is the forecaster: ``mlflow.pyfunc.load_model(...).predict(history)`` gives what
``SalesForecaster.predict`` gives. The saved model directory (``persistence.save_forecaster``: LightGBM
text files and a JSON, no pickle of the boosters) is the pyfunc's one artifact.

The trainer logs it with::

    kwargs = pyfunc_log_kwargs(forecaster, history, tmpdir)
    mlflow.pyfunc.log_model(name="model", **kwargs)

Input: the long-format history the model predicts from (columns.py), one row per series-day:
``series_id`` (string), ``date`` (datetime or ISO date string), ``sales`` (double, may be null for an
unobserved day); optional ``promo``, ``open``, ``holiday``, ``price`` (double) and ``imputed`` (boolean),
defaulted as in ``history.prepare_history``; and every ``x_*`` covariate column the model was trained with.
Gaps are filled as in training. Param ``horizon`` (long, default: the trained H; 1..H).
Output: ``series_id``, ``date``, ``forecast``, ``lower``, ``upper``: the ``horizon`` days after each
series' last date; ``lower``/``upper`` bound the ``params.quantiles`` interval (0.1..0.9: 80 %, see the
MLmodel metadata), calibrated, with lower <= forecast <= upper, all >= 0. Future days are taken as open,
without promotion or holiday, at the series' last price (as the serving forecast table does).
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.pyfunc import PythonModel  # not mlflow.pyfunc.PythonModel: mypy sees mlflow's lazy-loader attribute
from mlflow.types.schema import ColSpec, Schema

from hashiramart_assets.ml.forecast.columns import DATE, IMPUTED, OPTIONAL, REQUIRED, SALES, SERIES
from hashiramart_assets.ml.forecast.features import ROLL_WINDOWS
from hashiramart_assets.ml.forecast.history import ensure_history
from hashiramart_assets.ml.forecast.model import FORECAST_COLUMNS, SalesForecaster
from hashiramart_assets.ml.forecast.persistence import load_forecaster, save_forecaster

ARTIFACT_KEY = "model_dir"
HORIZON_PARAM = "horizon"
PYFUNC_LOADER = "mlflow.pyfunc.model"  # python_function loader_module of a PythonModel (not of a flavour)
EXAMPLE_SERIES = 2
EXAMPLE_EXTRA_DAYS = ROLL_WINDOWS[1]  # H + 28 days: the lags and the 28-day rolling features are defined


def _numbers(values: pd.Series, field: str) -> pd.Series:
    """float64 copy of ``values`` (nulls stay NaN) or a ValueError naming ``field`` and the bad cells."""
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() & values.notna()
    if bad.any():
        raise ValueError(f"{field} must be numeric (got {values[bad].tolist()[:5]})")
    return numeric.astype("float64")


def validate_input(model_input: pd.DataFrame, covariates: tuple[str, ...] = ()) -> pd.DataFrame:
    """Typed copy of the history (series_id str, date datetime64, numbers float64) or a ValueError naming the field.

    ``covariates``: the ``x_*`` columns the model needs (``SalesForecaster.covariates`` names), numeric as a
    loaded history holds them (a categorical covariate as its category code, see covariates.encode).
    """
    if not isinstance(model_input, pd.DataFrame):
        raise ValueError(f"model_input must be a pandas DataFrame of sales history (got {type(model_input)})")
    missing = [c for c in (*REQUIRED, *covariates) if c not in model_input.columns]
    if missing:
        raise ValueError(f"model_input is missing column(s) {missing} (got columns {list(model_input.columns)})")
    if model_input.empty:
        raise ValueError("model_input has no rows: the history of at least one series is needed")
    frame = model_input.reset_index(drop=True)
    out = pd.DataFrame(index=frame.index)
    series = frame[SERIES]
    if series.isna().any() or (series.astype(str).str.strip() == "").any():
        raise ValueError(f"{SERIES} must be a non-empty value in every row (got {series[series.isna()].tolist()[:5]})")
    out[SERIES] = series.astype(str)
    raw_dates = frame[DATE]
    if pd.api.types.is_numeric_dtype(raw_dates) or pd.api.types.is_bool_dtype(raw_dates):
        # pandas would read numbers as nanoseconds since 1970: never what a sales file means
        raise ValueError(f"{DATE} must be a date or an ISO date string, not a number (got {raw_dates.tolist()[:5]})")
    dates = pd.to_datetime(raw_dates, errors="coerce", format="mixed") if raw_dates.dtype == object \
        else pd.to_datetime(raw_dates, errors="coerce")
    if dates.isna().any():
        raise ValueError(f"{DATE} must be a date in every row (got {raw_dates[dates.isna()].tolist()[:5]})")
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    out[DATE] = dates.dt.normalize().astype("datetime64[ns]")
    out[SALES] = _numbers(frame[SALES], SALES)
    for column in OPTIONAL:
        if column in frame.columns:
            out[column] = _numbers(frame[column], column)
    if IMPUTED in frame.columns:
        flag = frame[IMPUTED]
        if flag.isna().any() or not all(isinstance(v, bool | np.bool_) or v in (0, 1) for v in flag):
            raise ValueError(f"{IMPUTED} must be true/false in every row (got {flag.tolist()[:5]})")
        out[IMPUTED] = flag.astype(bool)
    for column in covariates:
        out[column] = _numbers(frame[column], column)
    duplicated = out.duplicated([SERIES, DATE])
    if duplicated.any():
        keys = out.loc[duplicated, [SERIES, DATE]].head(3).astype(str).values.tolist()
        raise ValueError(f"({SERIES}, {DATE}) must be unique: one row per series-day (repeated: {keys})")
    return out


def _horizon(forecaster: SalesForecaster, params: dict[str, Any] | None) -> int:
    trained = forecaster.params.horizon
    value = (params or {}).get(HORIZON_PARAM, trained)
    value = trained if value is None else value
    if isinstance(value, bool) or not isinstance(value, int | np.integer | float) or value != int(value):
        raise ValueError(f"{HORIZON_PARAM} must be an integer in 1..{trained} (got {value!r})")
    if not 1 <= int(value) <= trained:
        raise ValueError(f"{HORIZON_PARAM} must be in 1..{trained} (the trained horizon); got {value}")
    return int(value)


def predict_frame(forecaster: SalesForecaster, model_input: pd.DataFrame,
                  params: dict[str, Any] | None = None) -> pd.DataFrame:
    """The forecast frame (FORECAST_COLUMNS) for ``model_input`` (shared by the pyfunc and the tests)."""
    horizon = _horizon(forecaster, params)
    history = validate_input(model_input, tuple(c.name for c in forecaster.covariates))
    return forecaster.predict(history, horizon).reset_index(drop=True)[list(FORECAST_COLUMNS)]


class ForecasterPyfunc(PythonModel):
    """Loads the forecaster from ``context.artifacts["model_dir"]``; ``predict`` returns the forecast frame."""

    def __init__(self) -> None:
        self.model: SalesForecaster | None = None

    def load_context(self, context: Any) -> None:
        self.model = load_forecaster(context.artifacts[ARTIFACT_KEY])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        if self.model is None:
            self.load_context(context)
        assert self.model is not None
        return predict_frame(self.model, model_input, params)


def pyfunc_artifacts(forecaster: SalesForecaster, tmpdir: str | Path) -> dict[str, str]:
    """Save ``forecaster`` under ``tmpdir`` and return the artifacts mapping for ``log_model``."""
    folder = Path(tmpdir) / "forecaster_model"
    save_forecaster(forecaster, folder)
    return {ARTIFACT_KEY: str(folder)}


def input_example(forecaster: SalesForecaster, history: pd.DataFrame, n_series: int = EXAMPLE_SERIES) -> pd.DataFrame:
    """The last H + 28 days of the ``n_series`` best-selling series of ``history``, as canonical history rows."""
    days = forecaster.params.horizon + EXAMPLE_EXTRA_DAYS
    dates = pd.to_datetime(history[DATE])
    recent = history.loc[(dates > dates.max() - pd.Timedelta(days=days)).to_numpy()]
    totals = pd.to_numeric(recent[SALES], errors="coerce").groupby(recent[SERIES].astype(str)).sum()
    chosen = totals.sort_values(ascending=False, kind="stable").index[:n_series]
    rows = recent.loc[recent[SERIES].astype(str).isin(chosen)]
    return ensure_history(rows).reset_index(drop=True)


def signature(forecaster: SalesForecaster, example: pd.DataFrame) -> ModelSignature:
    """series_id, date, sales and the model's covariates required; the other history columns optional;
    outputs inferred from a real prediction; ``horizon`` a param defaulting to the trained H."""
    inferred = infer_signature(example, predict_frame(forecaster, example),
                               params={HORIZON_PARAM: int(forecaster.params.horizon)})
    needed = {*REQUIRED, *(c.name for c in forecaster.covariates)}
    inputs = Schema([ColSpec(spec.type, spec.name, required=spec.name in needed) for spec in inferred.inputs.inputs])
    return ModelSignature(inputs=inputs, outputs=inferred.outputs, params=inferred.params)


def metadata(forecaster: SalesForecaster) -> dict[str, Any]:
    """MLmodel metadata: what the interval means and what the model was trained on."""
    low, high = forecaster.params.quantiles
    return {"horizon": int(forecaster.params.horizon), "quantiles": [float(low), float(high)],
            "interval_level": round(float(high - low), 6), "train_end": str(forecaster.train_end.date()),
            "output_columns": list(FORECAST_COLUMNS)}


def pip_requirements() -> list[str]:
    """Pinned requirements of the scoring code (avoids MLflow's slow requirement inference)."""
    return [f"{pkg}=={version(pkg)}" for pkg in ("mlflow", "lightgbm", "numpy", "pandas", "scipy")]


def pyfunc_log_kwargs(forecaster: SalesForecaster, history: pd.DataFrame, tmpdir: str | Path) -> dict[str, Any]:
    """Everything ``mlflow.pyfunc.log_model(name=..., **kwargs)`` / ``save_model(path, **kwargs)`` needs.

    ``history``: the training history (or any with the model's columns): the input example comes from it.
    """
    example = input_example(forecaster, history)
    return {
        "python_model": ForecasterPyfunc(),
        "artifacts": pyfunc_artifacts(forecaster, tmpdir),
        "signature": signature(forecaster, example),
        "input_example": example,
        "pip_requirements": pip_requirements(),
        "metadata": metadata(forecaster),
    }


def save_pyfunc_model(forecaster: SalesForecaster, history: pd.DataFrame, path: str | Path,
                      tmpdir: str | Path) -> Path:
    """``mlflow.pyfunc.save_model`` of ``forecaster`` at ``path`` (``tmpdir`` holds the artifact before copying)."""
    mlflow.pyfunc.save_model(str(path), **pyfunc_log_kwargs(forecaster, history, tmpdir))
    return Path(path)


def is_pyfunc_model(local_dir: str | Path) -> bool:
    """Whether a downloaded model version is this pyfunc (False: a LightGBM-flavour version from before it)."""
    from mlflow.models import Model

    mlmodel = Path(local_dir) / "MLmodel"
    if not mlmodel.is_file():
        return False
    flavour = Model.load(str(mlmodel)).flavors.get("python_function", {})
    return flavour.get("loader_module") == PYFUNC_LOADER and "python_model" in flavour


def load_version_forecaster(model_uri: str, run_id: str, tracking_uri: str | None = None,
                            dst_path: str | Path | None = None) -> SalesForecaster:
    """The forecaster of a registered version: ``model_uri`` is its download URI, ``run_id`` its run.

    A pyfunc version is loaded and unwrapped. A version registered with the LightGBM flavour (before the
    pyfunc) holds only the point booster; its whole forecaster is the run's ``forecaster/`` artifacts.
    """
    import tempfile

    with tempfile.TemporaryDirectory(prefix="hm-forecaster-", dir=dst_path) as tmp:
        local = mlflow.artifacts.download_artifacts(artifact_uri=model_uri, dst_path=tmp, tracking_uri=tracking_uri)
        if is_pyfunc_model(local):
            return mlflow.pyfunc.load_model(local).unwrap_python_model().model
        legacy = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="forecaster",
                                                     dst_path=str(Path(tmp) / "legacy"), tracking_uri=tracking_uri)
        return load_forecaster(legacy)
