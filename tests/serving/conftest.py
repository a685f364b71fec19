"""One trained world for the serving tests: generated shop data, a real MLflow registry (SQLite) with
both champions trained for real, marts.daily_sales in a real Postgres database of the session's server.

Training happens once per session (~30 s); apps built on it are cheap. Tests that move the champion
alias put it back, so every test sees version 1 unless it promotes something itself.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
import sqlalchemy
from fastapi.testclient import TestClient
from mlflow.tracking import MlflowClient

from hashiramart_assets.datagen import GeneratorConfig, generate
from hashiramart_assets.ml import registry
from hashiramart_assets.ml.forecast.mart import history_from_daily_sales
from hashiramart_assets.ml.forecast.params import ForecasterParams
from hashiramart_assets.ml.recommender.interactions import as_of_date, build_interactions
from hashiramart_assets.ml.recommender.params import RecommenderParams
from hashiramart_assets.ml.registration import Lineage
from hashiramart_assets.ml.tracking import ensure_experiment
from hashiramart_assets.ml.train_forecaster import train_forecaster
from hashiramart_assets.ml.train_recommender import RecommenderInputs, train_recommender
from hashiramart_assets.settings import Settings, load_settings
from tests.conftest import world_searchable_tempdir
from tests.support import free_loopback_port, restore_env, session_postgres_database

DATA = GeneratorConfig(events=30_000, days=90, seed=7)
FORECAST_PARAMS = ForecasterParams(horizon=7, n_estimators=40, num_leaves=15)
JWT_SECRET = "serving-tests-secret-0123456789abcdef-not-default"
ADMIN_PASSWORD = "admin-password-for-tests"
ENV_KEYS = ("HASHIRAMART_HOME", "HASHIRAMART_POSTGRES_URL", "MLFLOW_TRACKING_URI", "HASHIRAMART_JWT_SECRET",
            "HASHIRAMART_ADMIN_PASSWORD", "HASHIRAMART_MODEL_POLL_SECONDS", "DAGSTER_GRAPHQL_URL", "HASHIRAMART_ENV",
            "DAGSTER_HOME", "MLFLOW_HTTP_REQUEST_MAX_RETRIES", "MLFLOW_HTTP_REQUEST_TIMEOUT")


def daily_sales_from_orders(orders: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """marts.daily_sales as dbt builds it (dbt_project/models/marts/daily_sales.sql), in pandas."""
    lines = orders.merge(products[["product_id", "category", "department"]], on="product_id", how="left")
    lines["date"] = pd.to_datetime(lines["order_ts"]).dt.normalize()
    sold = ~lines["is_return"]
    lines["units"] = np.where(sold, lines["quantity"], 0)
    lines["return_units"] = np.where(~sold, -lines["quantity"], 0)
    lines["revenue"] = np.where(sold, lines["quantity"] * lines["unit_price"], 0.0)
    lines["promo_units"] = np.where(sold & lines["promo"], lines["quantity"], 0)
    lines["sold_order"] = lines["order_id"].where(sold)
    lines["sold_list_price"] = lines["list_price"].where(sold)
    parts = []
    for grain, key in (("product", "product_id"), ("category", "category")):
        frame = lines.assign(grain=grain, item_id=lines[key].fillna("unknown").astype(str))
        parts.append(frame.groupby(["date", "grain", "item_id"], as_index=False).agg(
            category=("category", "max"), department=("department", "max"), units=("units", "sum"),
            return_units=("return_units", "sum"), revenue=("revenue", "sum"), orders=("sold_order", "nunique"),
            promo_units=("promo_units", "sum"), list_price=("sold_list_price", "mean"),
        ))
    daily = pd.concat(parts, ignore_index=True)
    daily["promo"] = daily["promo_units"] > 0
    daily["promo_share"] = np.where(daily["units"] > 0, daily["promo_units"] / daily["units"].clip(lower=1), 0.0)
    daily["avg_price"] = np.where(daily["units"] > 0, daily["revenue"] / daily["units"].clip(lower=1), np.nan)
    daily["is_open"] = True
    return daily.drop(columns=["promo_units"])


@dataclass
class World:
    settings: Settings
    database_url: str
    tracking_uri: str
    landing: Path
    orders: pd.DataFrame
    events: pd.DataFrame
    products: pd.DataFrame
    customers: pd.DataFrame
    daily_sales: pd.DataFrame
    recommender_inputs: RecommenderInputs

    @property
    def client(self) -> MlflowClient:
        return MlflowClient(self.tracking_uri)

    def champion(self, name: str) -> str:
        return str(registry.champion(self.client, name).version)


def train_recommender_version(world: World, params: RecommenderParams) -> str:
    """Train and register a recommender version; the alias is put back where it was (tests promote by hand)."""
    before = registry.champion(world.client, registry.RECOMMENDER)
    mlflow.set_tracking_uri(world.tracking_uri)
    mlflow.set_experiment(world.settings.mlflow_experiment)
    trained = train_recommender(world.recommender_inputs, params, Lineage("serving-tests", "test", {"data": "1"}),
                                world.client)
    if before is not None:
        registry.promote(world.client, registry.RECOMMENDER, str(before.version), "tests keep the champion")
    return trained.registration.version


@pytest.fixture(scope="session")
def second_version(world: World) -> str:
    """A second recommender version (different hyperparameters), registered but not champion (session-wide, so
    the hot-reload and the experiment tests share it and its number)."""
    version = train_recommender_version(world, RecommenderParams(factors=16, iterations=5, als_weight=0.6))
    assert world.champion(registry.RECOMMENDER) == "1" and version == "2"
    return version


@pytest.fixture(scope="session")
def world(platform_home: Path) -> Iterator[World]:
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    url = session_postgres_database("hm_serving")  # the session's embedded server, started on demand
    home = world_searchable_tempdir("hm-serving-")
    tracking_uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    (home / "mlflow").mkdir()
    os.environ.update(
        HASHIRAMART_HOME=str(home), HASHIRAMART_POSTGRES_URL=url, MLFLOW_TRACKING_URI=tracking_uri,
        HASHIRAMART_JWT_SECRET=JWT_SECRET, HASHIRAMART_ADMIN_PASSWORD=ADMIN_PASSWORD,
        HASHIRAMART_MODEL_POLL_SECONDS="0", DAGSTER_GRAPHQL_URL=f"http://127.0.0.1:{free_loopback_port()}/graphql",
        HASHIRAMART_ENV="dev",
    )
    os.environ.pop("DAGSTER_HOME", None)
    try:
        settings = load_settings()
        generate(DATA, settings.landing_dir)
        landing = settings.landing_dir
        orders = pd.read_parquet(landing / "orders")
        events = pd.read_parquet(landing / "events")
        products = pd.read_parquet(landing / "products.parquet")
        customers = pd.read_parquet(landing / "customers.parquet")
        for frame in (orders, events):
            frame["date"] = frame["date"].astype(str)
        orders["product_id"] = orders["product_id"].astype(str)
        products["product_id"] = products["product_id"].astype(str)
        interactions = build_interactions(orders, events, as_of_date(orders, events))
        inputs = RecommenderInputs(interactions, orders, events, customers, products)
        daily = daily_sales_from_orders(orders, products)
        engine = sqlalchemy.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("drop schema if exists app cascade"))
            conn.execute(sqlalchemy.text("create schema if not exists marts"))
        daily.to_sql("daily_sales", engine, schema="marts", if_exists="replace", index=False)
        engine.dispose()
        ensure_experiment(tracking_uri, settings.mlflow_experiment, settings.mlflow_artifact_root)
        world = World(settings, url, tracking_uri, landing, orders, events, products, customers, daily, inputs)
        client = world.client
        mlflow.set_experiment(settings.mlflow_experiment)
        lineage = Lineage("serving-tests", "test", {"data": "1"})
        rec = train_recommender(inputs, RecommenderParams(), lineage, client)
        registry.promote(client, registry.RECOMMENDER, rec.registration.version, "serving tests")
        fc = train_forecaster(history_from_daily_sales(daily), FORECAST_PARAMS, lineage, client)
        registry.promote(client, registry.FORECASTER, fc.registration.version, "serving tests")
        yield world
    finally:
        while mlflow.active_run() is not None:
            mlflow.end_run()
        restore_env(saved)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def app_client(world: World) -> Iterator[TestClient]:
    """One app (models loaded, no polling) shared by the read-mostly tests."""
    from serving.app import create_app

    with TestClient(create_app(world.settings)) as client:
        yield client


def login(client: TestClient, username: str, password: str) -> dict[str, str]:
    response = client.post("/auth/token", data={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture(scope="session")
def admin_headers(app_client: TestClient) -> dict[str, str]:
    return login(app_client, "admin", ADMIN_PASSWORD)


_users = iter(range(1_000_000))


def new_customer(client: TestClient, customer_id: int | None = None) -> tuple[dict[str, str], dict]:
    """Sign up a fresh customer user (linked to ``customer_id`` by the admin if given); (auth headers, user)."""
    name = f"user{next(_users)}_{os.getpid()}"
    body = {"username": name, "password": "correct horse battery"}
    headers = {}
    if customer_id is not None:
        body["customer_id"] = customer_id
        headers = login(client, "admin", ADMIN_PASSWORD)
    response = client.post("/users", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return login(client, name, "correct horse battery"), response.json()


@pytest.fixture(scope="session")
def api_schema(app_client: TestClient):
    """The shared, started app's OpenAPI schema, called in-process (ASGI)."""
    import schemathesis

    return schemathesis.openapi.from_asgi("/openapi.json", app_client.app)
