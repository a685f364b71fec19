"""The MLflow pyfunc wrapper: save, load, predict the same as in memory, reject bad input clearly."""

from __future__ import annotations

import os
from types import SimpleNamespace

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import mlflow
import numpy as np
import pandas as pd
import pytest

from hashiramart_assets.ml.recommender import HybridRecommender, RecommenderParams
from hashiramart_assets.ml.recommender.pyfunc import (
    RecommenderPyfunc,
    pyfunc_artifacts,
    pyfunc_log_kwargs,
    save_pyfunc_model,
)
from tests.unit.test_recommender_model import load_sample


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> HybridRecommender:
    orders, events, _ = load_sample(tmp_path_factory.mktemp("rec_landing_pyfunc"))
    return HybridRecommender(RecommenderParams()).fit_raw(orders, events)


@pytest.fixture(scope="module")
def wrapper(model, tmp_path_factory) -> RecommenderPyfunc:
    python_model = RecommenderPyfunc()
    python_model.load_context(SimpleNamespace(artifacts=pyfunc_artifacts(model, tmp_path_factory.mktemp("art"))))
    return python_model


def test_saved_pyfunc_predicts_like_the_model(model, tmp_path):
    path = save_pyfunc_model(model, tmp_path / "pyfunc", tmp_path / "work")
    loaded = mlflow.pyfunc.load_model(str(path))
    known = model.fitted.customer_ids[:3].tolist()
    got = loaded.predict(pd.DataFrame({"customer_id": [*known, 1]}))
    expected = model.recommend([*known, 1], k=10)
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
    unknown = got[got["customer_id"] == 1]
    assert len(unknown) == 10 and unknown["is_fallback"].all() and (unknown["source"] == "popular").all()
    top_popular = model.fitted.product_ids[np.argsort(-model.fitted.popularity, kind="stable")[:10]]
    assert list(unknown["product_id"]) == list(top_popular)
    assert not got.loc[got["customer_id"] != 1, "is_fallback"].any()
    # optional columns: k per row and exclusion of past purchases
    got = loaded.predict(pd.DataFrame({"customer_id": known, "k": [3, 3, 5], "exclude_purchased": [True] * 3}))
    assert got.groupby("customer_id", sort=False).size().tolist() == [3, 3, 5]
    expected = model.recommend(known[:2], k=3, exclude_purchased=True)
    pd.testing.assert_frame_equal(got.iloc[:6].reset_index(drop=True), expected, check_dtype=False)


def test_log_kwargs_have_signature_and_example(model, tmp_path):
    kwargs = pyfunc_log_kwargs(model, tmp_path)
    assert set(kwargs) == {"python_model", "artifacts", "signature", "input_example", "pip_requirements"}
    inputs = {spec.name: spec.required for spec in kwargs["signature"].inputs.inputs}
    assert inputs == {"customer_id": True, "k": False, "exclude_purchased": False}
    outputs = [spec.name for spec in kwargs["signature"].outputs.inputs]
    assert outputs == ["customer_id", "rank", "product_id", "score", "source", "is_fallback"]
    assert kwargs["input_example"]["customer_id"].isin(model.fitted.customer_ids).all()


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        (pd.DataFrame({"customer": [1]}), "customer_id"),
        (pd.DataFrame({"customer_id": ["abc"]}), "customer_id"),
        (pd.DataFrame({"customer_id": [1.5]}), "customer_id"),
        (pd.DataFrame({"customer_id": [None, 2]}), "customer_id"),
        (pd.DataFrame({"customer_id": [1], "k": [0]}), "k"),
        (pd.DataFrame({"customer_id": [1], "k": [-3]}), "k"),
        (pd.DataFrame({"customer_id": [1], "exclude_purchased": ["maybe"]}), "exclude_purchased"),
    ],
)
def test_bad_input_raises_value_error_naming_the_field(wrapper, frame, field):
    with pytest.raises(ValueError, match=field):
        wrapper.predict(None, frame)


def test_in_memory_wrapper_accepts_string_digits_and_defaults(wrapper, model):
    known = int(model.fitted.customer_ids[5])
    got = wrapper.predict(None, pd.DataFrame({"customer_id": [str(known)]}))
    pd.testing.assert_frame_equal(got, model.recommend([known], k=10))
