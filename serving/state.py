"""What every request can reach: settings, database, model store, metrics, Dagster client, experiments."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from hashiramart_assets.settings import Settings
from serving.dagster_jobs import DagsterClient
from serving.db import Database
from serving.experiments import Experiments
from serving.impressions import ImpressionLog
from serving.metrics import Metrics
from serving.model_store import ModelStore


@dataclass
class AppState:
    settings: Settings
    db: Database
    store: ModelStore
    metrics: Metrics
    dagster: DagsterClient
    experiments: Experiments
    impressions: ImpressionLog


async def get_state(request: Request) -> AppState:
    """``async`` on purpose: FastAPI runs a sync dependency in the thread pool, a thread hop per request."""
    return request.app.state.hm
