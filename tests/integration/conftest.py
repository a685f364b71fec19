"""A platform with trained models, built once per session and shared by the models and retraining-loop tests.

It has its own HASHIRAMART_HOME (lake, Dagster instance, MLflow store) and its own database on the
session's embedded Postgres server. Its environment is applied per test (monkeypatch), so modules that
use the session's default home are never affected.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from hashiramart_assets.datagen import GeneratorConfig, generate
from hashiramart_assets.definitions import build_definitions
from hashiramart_assets.pipeline import materialize_everything_landed
from hashiramart_assets.runner import get_instance
from hashiramart_assets.settings import load_settings
from tests.conftest import world_searchable_tempdir
from tests.support import restore_env, session_postgres_database

TRAINED_DATA = GeneratorConfig(events=60_000, days=120, seed=7)
ENV_KEYS = ("HASHIRAMART_HOME", "HASHIRAMART_POSTGRES_URL", "DAGSTER_HOME", "MLFLOW_TRACKING_URI")


@dataclass(frozen=True)
class TrainedPlatform:
    home: Path
    env: dict[str, str]


@pytest.fixture(scope="session")
def trained_platform(platform_home) -> Iterator[TrainedPlatform]:
    url = session_postgres_database("hm_models")  # the session's server, own database
    saved = {k: os.environ.get(k) for k in ENV_KEYS}
    home = world_searchable_tempdir("hm-models-")
    env = {"HASHIRAMART_HOME": str(home), "HASHIRAMART_POSTGRES_URL": url, "DAGSTER_HOME": str(home / "dagster"),
           "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"}
    try:
        os.environ.update(env)
        generate(TRAINED_DATA, load_settings().landing_dir)
        assert materialize_everything_landed(load_settings(), print)
    finally:
        restore_env(saved)
    yield TrainedPlatform(home, env)
    while mlflow.active_run() is not None:  # never leave a run for MLflow's atexit to end in a removed store
        mlflow.end_run()
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def trained(trained_platform: TrainedPlatform, monkeypatch: pytest.MonkeyPatch) -> tuple:
    """(settings, definitions, instance, MLflow client) of the trained platform, its env applied for this test."""
    for key, value in trained_platform.env.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    return settings, build_definitions(settings), get_instance(settings), MlflowClient(settings.mlflow_tracking_uri)
