"""MinIO's role, played by moto's S3 server on loopback, with the settings the compose file passes:

- an MLflow server started as compose starts it (Postgres backend store, ``--default-artifact-root s3://…``,
  ``--no-serve-artifacts``): a recommender trained and registered through it has its artifacts in the bucket,
  and the API's model store loads the champion back from there;
- Dagster I/O through dagster-aws's S3 pickle I/O manager against the same endpoint.
"""

from __future__ import annotations

import pickle

import dagster as dg
import mlflow
import pandas as pd
import pytest
from dagster_aws.s3 import S3PickleIOManager, S3Resource
from mlflow.tracking import MlflowClient

from hashiramart_assets.ml import registry
from hashiramart_assets.settings import load_settings
from tests.production.conftest import MLFLOW_BUCKET, S3Endpoint, S3Platform

IO_BUCKET = "hm-dagster-io"


def test_model_logged_to_s3_loads_back_in_the_api(s3_platform: S3Platform, s3_endpoint: S3Endpoint):
    from serving.model_store import ModelStore

    settings = load_settings()
    client = MlflowClient(settings.mlflow_tracking_uri)
    champion = s3_platform.champion
    run = client.get_run(champion.run_id)
    assert run.info.artifact_uri.startswith(f"s3://{MLFLOW_BUCKET}/"), run.info.artifact_uri
    listed = s3_endpoint.client().list_objects_v2(Bucket=MLFLOW_BUCKET)
    keys = [item["Key"] for item in listed.get("Contents", [])]
    assert any(key.endswith("MLmodel") for key in keys), keys[:20]

    pyfunc = mlflow.pyfunc.load_model(f"models:/{registry.RECOMMENDER}@{registry.CHAMPION}")
    assert pyfunc.metadata.run_id == champion.run_id

    def no_sales_history() -> pd.DataFrame:
        raise RuntimeError("no forecaster in this test")

    store = ModelStore(settings.mlflow_tracking_uri, poll_seconds=0, sales_history=no_sales_history)
    outcome = store.refresh()
    assert outcome[registry.RECOMMENDER] == f"loaded v{champion.version}", outcome
    assert store.recommender is not None and store.recommender.run_id == champion.run_id


def test_dagster_io_on_s3(s3_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch):
    """An asset's output written by the S3 pickle I/O manager and read back by its downstream asset."""
    for key, value in s3_endpoint.env.items():
        monkeypatch.setenv(key, value)
    s3_endpoint.client().create_bucket(Bucket=IO_BUCKET)

    @dg.asset(key=["production_check", "orders_per_day"])
    def orders_per_day() -> pd.DataFrame:
        return pd.DataFrame({"date": ["2025-01-01", "2025-01-02"], "orders": [12, 15]})

    @dg.asset(key=["production_check", "total_orders"],
              ins={"daily": dg.AssetIn(["production_check", "orders_per_day"])})
    def total_orders(daily: pd.DataFrame) -> int:
        return int(daily["orders"].sum())

    io_manager = S3PickleIOManager(s3_resource=S3Resource(endpoint_url=s3_endpoint.url), s3_bucket=IO_BUCKET,
                                   s3_prefix="dagster")
    result = dg.materialize([orders_per_day, total_orders], resources={"io_manager": io_manager})
    assert result.success
    body = s3_endpoint.client().get_object(Bucket=IO_BUCKET, Key="dagster/production_check/total_orders")["Body"]
    assert pickle.loads(body.read()) == 27
