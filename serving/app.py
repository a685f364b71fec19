"""The FastAPI application: ``serving.app:app`` for uvicorn, ``create_app(settings)`` for tests.

Start-up order (lifespan): check the settings are safe, reach and migrate the database, seed products
and the bootstrap admin, load the champions, start polling. A database or registry that is down at
start does not stop the service: /ready says what is missing and the poller keeps trying.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pandas as pd
import sqlalchemy
from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from hashiramart_assets.ml.inputs import DAILY_SALES_COLUMNS
from hashiramart_assets.settings import Settings, load_settings
from serving.config import check_serving_settings, configure_mlflow_http, database_url
from serving.dagster_jobs import DagsterClient
from serving.db import Database
from serving.errors import install_error_handlers
from serving.experiments import Experiments
from serving.forecasts import GRAINS
from serving.impressions import ImpressionLog
from serving.metrics import Metrics, MetricsMiddleware
from serving.model_store import ModelStore
from serving.routers import admin, feedback, forecasts, ops, products, recommendations, users
from serving.routers import experiments as experiment_routes
from serving.seed import ensure_admin, seed_products
from serving.state import AppState

log = logging.getLogger("hashiramart.serving")
DESCRIPTION = """Recommendations and sales forecasts from the MLflow registry's `champion` models, plus the
shop's users, products and recommendation feedback. Log in with `POST /auth/token` (OAuth2 password flow)."""


def _sales_history(db: Database) -> pd.DataFrame:
    """marts.daily_sales (both grains) for the forecasts; fixed SQL with a bound parameter."""
    with db.engine.connect() as conn:
        frame = pd.read_sql(
            sqlalchemy.text(f"select {DAILY_SALES_COLUMNS} from marts.daily_sales where grain = any(:g) "
                            "order by date, grain, item_id"),
            conn, params={"g": list(GRAINS)},
        )
    frame["date"] = pd.to_datetime(frame["date"])
    return frame


class _Bootstrap:
    """Seeding and the admin account, done once as soon as the database is reachable."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self.done = False

    def __call__(self) -> None:
        if self.done or not self.db.ensure_ready():
            return
        seed_products(self.db.engine, self.settings)
        password = os.environ.get("HASHIRAMART_ADMIN_PASSWORD")
        if password:
            ensure_admin(self.db.engine, password)
            log.info("admin user 'admin' created/updated from HASHIRAMART_ADMIN_PASSWORD")
        self.done = True


def create_app(settings: Settings | None = None, start_models: bool = True) -> FastAPI:
    """Build the app; ``start_models=False`` skips model loading (for tests of the plain HTTP layer)."""
    settings = settings or load_settings()
    check_serving_settings(settings)
    configure_mlflow_http()
    db = Database(lambda: database_url(settings))
    bootstrap = _Bootstrap(db, settings)
    store = ModelStore(settings.mlflow_tracking_uri, settings.model_poll_seconds, lambda: _sales_history(db),
                       on_poll=bootstrap)
    metrics = Metrics()
    metrics.watch_models(store)
    experiments = Experiments(db, store, settings.experiment_poll_seconds)
    impressions = ImpressionLog(db, on_shadow_scored=metrics.shadow_scored.labels(Experiments.model_name).inc)
    metrics.watch_experiments(experiments, impressions)
    state = AppState(settings, db, store, metrics, DagsterClient(settings.dagster_graphql_url), experiments,
                     impressions)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        try:
            await run_in_threadpool(bootstrap)
        except Exception:  # seeding problems must not keep the API down; the poller retries
            log.exception("bootstrap failed")
        if start_models:
            await run_in_threadpool(store.start)
            await run_in_threadpool(experiments.start)
        impressions.start()
        # Everything loaded so far (models, forecast tables, libraries) lives for the whole process: keep it
        # out of the cyclic GC, whose full collections over it stalled every request for ~100 ms.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            experiments.stop()
            impressions.stop()  # writes what is still pending
            store.stop()
            db.dispose()

    app = FastAPI(title="HashiraMart API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.hm = state
    install_error_handlers(app)
    for router in (users.router, products.router, recommendations.router, forecasts.router, feedback.router,
                   ops.router, admin.router, experiment_routes.router):
        app.include_router(router)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def __getattr__(name: str) -> FastAPI:
    """``serving.app:app`` is built on first access, so importing this module reads no settings."""
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
