"""Train, evaluate, log and register the hybrid recommender in one MLflow run (no Dagster here).

Evaluation and the served model are fitted separately on purpose: the metrics come from a fit on the
time-based training split (the held-out last purchase day is unseen), the logged model is fitted on
all of features/interactions so it knows every customer's latest purchases.
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
from hashiramart_assets.ml.promotion import RECOMMENDER_RULE
from hashiramart_assets.ml.recommender import pyfunc as recommender_pyfunc
from hashiramart_assets.ml.recommender.evaluate import evaluate, segment_metrics_dict
from hashiramart_assets.ml.recommender.model import HybridRecommender
from hashiramart_assets.ml.recommender.params import RecommenderParams
from hashiramart_assets.ml.registration import (
    DATA_END_TAG,
    Lineage,
    RegistrationOutcome,
    log_params_json,
    register_and_decide,
)
from hashiramart_assets.ml.tracking import child_run

K = 10


@dataclass(frozen=True)
class RecommenderInputs:
    """features/interactions plus the raw tables the time-based evaluation needs."""

    interactions: pd.DataFrame
    orders: pd.DataFrame
    events: pd.DataFrame
    customers: pd.DataFrame
    products: pd.DataFrame


@dataclass(frozen=True)
class RecommenderTraining:
    model: HybridRecommender
    metrics: dict[str, float]
    segments: pd.DataFrame
    registration: RegistrationOutcome


def _evaluate_metrics(inputs: RecommenderInputs, params: RecommenderParams) -> tuple[dict[str, float], pd.DataFrame]:
    catalogue = set(inputs.products["product_id"].astype(str))
    evaluation = evaluate(inputs.orders, inputs.events, inputs.customers, params=params, k=K, catalogue=catalogue)
    return evaluation.metrics, evaluation.segments


def untrainable_reason(inputs: RecommenderInputs) -> str | None:
    """Why no recommender can be trained on these inputs (None: it can).

    When every customer bought exactly one product there is nothing to recommend: a store-sales landing
    (importers/store_sales.py: one pseudo-customer per store, the store is its only product) looks like that.
    Every model then re-buys that product (NDCG 1.0 for the hybrid and the repurchase and ALS baselines),
    discovery has nothing to find, and a registered version could never become champion.
    """
    purchases = inputs.orders.loc[~inputs.orders["is_return"].astype(bool)]
    if purchases.empty:
        return None  # train_recommender reports missing inputs itself
    per_customer = purchases.groupby("customer_id")["product_id"].nunique()
    if per_customer.max() > 1:
        return None
    return (f"every customer bought exactly one product ({len(per_customer)} customers, "
            f"{purchases['product_id'].nunique()} products; e.g. a store-sales landing: one pseudo-customer per "
            "store): there is nothing to recommend, so no recommender is trained or registered")


def train_recommender(
    inputs: RecommenderInputs,
    params: RecommenderParams,
    lineage: Lineage,
    client: MlflowClient,
    parent_run_id: str | None = None,
) -> RecommenderTraining:
    """Evaluate on the holdout, fit on everything, log the pyfunc, register and judge it."""
    if inputs.interactions.empty or inputs.orders.empty:
        raise ValueError("no interactions or orders to train the recommender on: materialise the raw and "
                         "feature layers first")
    metrics, segments = _evaluate_metrics(inputs, params)
    model = HybridRecommender(params).fit(inputs.interactions, inputs.orders)
    with child_run(parent_run_id, "recommender", lineage.tags()) as run:
        log_params_json(params.to_dict())
        mlflow.set_tag(DATA_END_TAG, str(pd.to_datetime(inputs.orders["order_ts"]).max().date()))
        mlflow.log_metrics(metrics)
        mlflow.log_metrics(segment_metrics_dict(segments))
        mlflow.log_table(segments, artifact_file="evaluation/segments.json")
        with tempfile.TemporaryDirectory() as tmp:
            info = mlflow.pyfunc.log_model(
                name="model", registered_model_name=registry.RECOMMENDER,
                **recommender_pyfunc.pyfunc_log_kwargs(model, Path(tmp)),
            )
        run_id = run.info.run_id

    def refit(champion_params: dict[str, Any]) -> dict[str, float]:
        return _evaluate_metrics(inputs, RecommenderParams.from_dict(champion_params))[0]

    outcome = register_and_decide(
        client, registry.RECOMMENDER, str(info.registered_model_version), run_id, RECOMMENDER_RULE, metrics,
        params.to_dict(), lineage, refit,
    )
    return RecommenderTraining(model=model, metrics=metrics, segments=segments, registration=outcome)
