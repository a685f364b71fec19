"""MLflow pyfunc wrapper: the saved model directory as an artifact, recommendations as a long frame.

The lead logs it with::

    kwargs = pyfunc_log_kwargs(model, tmpdir)
    mlflow.pyfunc.log_model(name="recommender", **kwargs)

Input: a DataFrame with ``customer_id`` (int), optional ``k`` (default 10) and optional
``exclude_purchased`` (default False), per row. Output: customer_id, rank, product_id, score, source,
is_fallback (unknown customers get popular products with is_fallback True).
"""

from __future__ import annotations

import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.pyfunc import PythonModel  # not mlflow.pyfunc.PythonModel: mypy sees mlflow's lazy-loader attribute
from mlflow.types.schema import ColSpec, Schema

from hashiramart_assets.ml.recommender.base import RECOMMENDATION_COLUMNS, as_customer_ids
from hashiramart_assets.ml.recommender.model import HybridRecommender
from hashiramart_assets.ml.recommender.persistence import load_model, save_model

DEFAULT_K = 10
ARTIFACT_KEY = "model_dir"


def validate_input(model_input: pd.DataFrame) -> pd.DataFrame:
    """Normalised copy (customer_id int64, k int, exclude_purchased bool) or a ValueError naming the field."""
    if not isinstance(model_input, pd.DataFrame):
        raise ValueError(f"model_input must be a pandas DataFrame with a customer_id column (got {type(model_input)})")
    if "customer_id" not in model_input.columns:
        raise ValueError(f"model_input needs a customer_id column (got columns {list(model_input.columns)})")
    frame = pd.DataFrame(index=range(len(model_input)))
    ids = model_input["customer_id"].reset_index(drop=True)
    if len(ids):
        as_customer_ids(ids)  # raises ValueError on null or non-integer ids
    frame["customer_id"] = pd.to_numeric(ids).astype(np.int64) if len(ids) else ids.astype(np.int64)
    if "k" in model_input.columns:
        k = model_input["k"].reset_index(drop=True)
        numeric = pd.to_numeric(k, errors="coerce")
        if numeric.isna().any() or (numeric % 1 != 0).any() or (numeric <= 0).any():
            raise ValueError(f"k must be a positive integer in every row (got {k.tolist()[:5]})")
        frame["k"] = numeric.astype(np.int64)
    else:
        frame["k"] = DEFAULT_K
    if "exclude_purchased" in model_input.columns:
        flag = model_input["exclude_purchased"].reset_index(drop=True)
        if flag.isna().any() or not all(isinstance(v, bool | np.bool_) or v in (0, 1) for v in flag):
            raise ValueError(f"exclude_purchased must be true/false in every row (got {flag.tolist()[:5]})")
        frame["exclude_purchased"] = flag.astype(bool)
    else:
        frame["exclude_purchased"] = False
    return frame


def predict_frame(model: HybridRecommender, model_input: pd.DataFrame) -> pd.DataFrame:
    """Recommendations for every row of ``model_input``, in input order (shared by pyfunc and tests)."""
    frame = validate_input(model_input)
    parts = []
    for (k, exclude), group in frame.groupby(["k", "exclude_purchased"], sort=False):
        recs = model.recommend(group["customer_id"].to_numpy(), k=int(k), exclude_purchased=bool(exclude))
        parts.append(recs)
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _OUTPUT_DTYPES.items()})
    out = pd.concat(parts, ignore_index=True)
    order = pd.unique(frame["customer_id"].to_numpy())
    position = pd.Series(np.arange(len(order)), index=order)
    out = out.iloc[np.lexsort((out["rank"].to_numpy(), position[out["customer_id"]].to_numpy()))]
    return out.reset_index(drop=True)[RECOMMENDATION_COLUMNS]


_OUTPUT_DTYPES = {"customer_id": "int64", "rank": "int32", "product_id": "object", "score": "float64",
                  "source": "object", "is_fallback": "bool"}


class RecommenderPyfunc(PythonModel):
    """Loads the hybrid from ``context.artifacts["model_dir"]``; ``predict`` returns the long frame."""

    def __init__(self) -> None:
        self.model: HybridRecommender | None = None

    def load_context(self, context: Any) -> None:
        self.model = load_model(context.artifacts[ARTIFACT_KEY])

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        if self.model is None:
            self.load_context(context)
        assert self.model is not None
        return predict_frame(self.model, model_input)


def pyfunc_artifacts(model: HybridRecommender, tmpdir: str | Path) -> dict[str, str]:
    """Save ``model`` under ``tmpdir`` and return the artifacts mapping for ``log_model``."""
    return {ARTIFACT_KEY: str(save_model(model, Path(tmpdir) / "recommender_model"))}


def input_example(model: HybridRecommender, n: int = 2) -> pd.DataFrame:
    """A few known customers with the default k, for the logged input example."""
    ids = model.fitted.customer_ids[:n]
    return pd.DataFrame({"customer_id": ids.astype(np.int64), "k": np.full(len(ids), DEFAULT_K, dtype=np.int64),
                         "exclude_purchased": np.zeros(len(ids), dtype=bool)})


def signature(model: HybridRecommender) -> ModelSignature:
    """customer_id required; k and exclude_purchased optional; outputs inferred from a real prediction."""
    example = input_example(model)
    inputs = Schema([
        ColSpec("long", "customer_id"),
        ColSpec("long", "k", required=False),
        ColSpec("boolean", "exclude_purchased", required=False),
    ])
    with warnings.catch_warnings():
        # MLflow hints that integer columns cannot hold missing values: ids and ranks of an answer never do
        warnings.filterwarnings("ignore", message=r"Hint: Inferred schema contains integer column")
        outputs = infer_signature(example, predict_frame(model, example)).outputs
    return ModelSignature(inputs=inputs, outputs=outputs)


def pip_requirements() -> list[str]:
    """Pinned requirements of the scoring code (avoids MLflow's slow requirement inference)."""
    return [f"{pkg}=={version(pkg)}" for pkg in ("mlflow", "implicit", "numpy", "pandas", "scipy", "threadpoolctl")]


def pyfunc_log_kwargs(model: HybridRecommender, tmpdir: str | Path) -> dict[str, Any]:
    """Everything ``mlflow.pyfunc.log_model(name=..., **kwargs)`` / ``save_model(path, **kwargs)`` needs."""
    return {
        "python_model": RecommenderPyfunc(),
        "artifacts": pyfunc_artifacts(model, tmpdir),
        "signature": signature(model),
        "input_example": input_example(model),
        "pip_requirements": pip_requirements(),
    }


def save_pyfunc_model(model: HybridRecommender, path: str | Path, tmpdir: str | Path) -> Path:
    """``mlflow.pyfunc.save_model`` of ``model`` at ``path`` (``tmpdir`` holds the artifact before copying)."""
    mlflow.pyfunc.save_model(str(path), **pyfunc_log_kwargs(model, tmpdir))
    return Path(path)
