"""The production topology's parts, for real on loopback: a Postgres-backed Dagster instance (the session's
embedded server standing in for compose's), an S3-protocol server (moto) standing in for MinIO, and a Spark
standalone cluster started from the pyspark package.

Every server started here is stopped by its fixture's finalizer; ports are free loopback ports.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy

from hashiramart_assets.datagen import GeneratorConfig, generate
from hashiramart_assets.definitions import build_definitions
from hashiramart_assets.runner import get_instance, materialize
from hashiramart_assets.settings import load_settings
from tests.conftest import world_searchable_tempdir
from tests.support import apply_env, free_loopback_port, restore_env, running_server, session_postgres_database

REPO = Path(__file__).resolve().parents[2]
START = date(2025, 1, 1)
DAYS = 10
DATA = GeneratorConfig(events=6_000, start=START, days=DAYS, seed=11)
LAST_DAY = str(START + timedelta(days=DAYS - 1))
INGESTED = (str(START), str(START + timedelta(days=DAYS - 2)))  # the last day is left for the sensor
S3_KEYS = {"AWS_ACCESS_KEY_ID": "hm-test-key", "AWS_SECRET_ACCESS_KEY": "hm-test-secret",
           "AWS_DEFAULT_REGION": "us-east-1"}


def dagster_postgres_env(url: str) -> dict[str, str]:
    """DAGSTER_POSTGRES_* (what dagster.yaml reads) for a SQLAlchemy URL."""
    parsed = sqlalchemy.engine.make_url(url)
    return {
        "DAGSTER_POSTGRES_HOST": parsed.host or "127.0.0.1",
        "DAGSTER_POSTGRES_PORT": str(parsed.port or 5432),
        "DAGSTER_POSTGRES_USER": parsed.username or "",
        # the embedded server trusts loopback; the password is required by dagster.yaml, not checked
        "DAGSTER_POSTGRES_PASSWORD": parsed.password or "unused-with-trust-auth",
        "DAGSTER_POSTGRES_DB": parsed.database or "",
    }


@dataclass(frozen=True)
class ProductionPlatform:
    """A HASHIRAMART_HOME whose Dagster instance is the repository's dagster.yaml on Postgres."""

    home: Path
    env: dict[str, str]


@pytest.fixture(scope="session")
def production_platform(platform_home: Path) -> Iterator[ProductionPlatform]:
    """Tiny generated data, the raw layer of all days but the last materialised into the Postgres instance."""
    dagster_url = session_postgres_database("hm_prod_dagster")  # the session's embedded server
    home = world_searchable_tempdir("hm-prod-")
    env = {
        "HASHIRAMART_HOME": str(home),
        "HASHIRAMART_POSTGRES_URL": session_postgres_database("hm_prod_warehouse"),
        "DAGSTER_HOME": str(home / "dagster"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
        **dagster_postgres_env(dagster_url),
    }
    (home / "dagster").mkdir()
    (home / "mlflow").mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster" / "dagster.yaml")
    saved = apply_env(env)
    try:
        settings = load_settings()
        generate(DATA, settings.landing_dir)
        settings = load_settings()
        instance = get_instance(settings)
        try:
            summary = materialize(build_definitions(settings), instance, "group:raw", partition_range=INGESTED)
        finally:
            instance.dispose()
        assert summary.success and not summary.failed_checks, summary
    finally:
        restore_env(saved)
    yield ProductionPlatform(home, env)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def production_env(production_platform: ProductionPlatform, monkeypatch: pytest.MonkeyPatch) -> ProductionPlatform:
    for key, value in production_platform.env.items():
        monkeypatch.setenv(key, value)
    return production_platform


# ----- S3 (MinIO stand-in) ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class S3Endpoint:
    url: str
    env: dict[str, str]

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.url, aws_access_key_id=S3_KEYS["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=S3_KEYS["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[S3Endpoint]:
    """moto's S3-protocol server on a free loopback port, with the MinIO-style settings the compose file passes."""
    from moto.server import ThreadedMotoServer

    port = free_loopback_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        yield S3Endpoint(url, {"AWS_ENDPOINT_URL": url, "MLFLOW_S3_ENDPOINT_URL": url, **S3_KEYS})
    finally:
        server.stop()


# ----- Spark standalone cluster -------------------------------------------------------------------------------

@dataclass(frozen=True)
class SparkCluster:
    master_url: str
    ui_url: str


def _spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _alive_workers(ui_url: str) -> int:
    try:
        with urllib.request.urlopen(f"{ui_url}/json/", timeout=5) as response:
            state = json.load(response)
    except OSError:
        return 0
    return sum(1 for worker in state.get("workers", []) if worker.get("state") == "ALIVE")


@pytest.fixture(scope="session")
def spark_cluster(java_home: Path) -> Iterator[SparkCluster]:
    """Master + one worker (1 core, 1 GB) from pyspark's sbin/spark-daemon.sh on 127.0.0.1; stopped at the end."""
    work = world_searchable_tempdir("hm-spark-cluster-")
    spark_home = _spark_home()
    daemon = str(spark_home / "sbin" / "spark-daemon.sh")
    env = {**os.environ, "SPARK_HOME": str(spark_home), "JAVA_HOME": str(java_home), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_LOG_DIR": str(work / "logs"), "SPARK_PID_DIR": str(work / "pids"),
           "SPARK_WORKER_DIR": str(work / "worker"), "SPARK_CONF_DIR": str(work / "conf"),
           "SPARK_DAEMON_MEMORY": "256m", "SPARK_IDENT_STRING": "hm-test"}
    env.pop("SPARK_NO_DAEMONIZE", None)  # the script only tests whether it is set
    (work / "conf").mkdir()
    port, ui_port, worker_ui = free_loopback_port(), free_loopback_port(), free_loopback_port()
    master_class, worker_class = "org.apache.spark.deploy.master.Master", "org.apache.spark.deploy.worker.Worker"
    master_url, ui_url = f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui_port}"
    started: list[str] = []

    def run(*args: str) -> None:
        result = subprocess.run([daemon, *args], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"spark-daemon.sh {args}: {result.stdout}{result.stderr}"

    try:
        run("start", master_class, "1", "--host", "127.0.0.1", "--port", str(port), "--webui-port", str(ui_port))
        started.append(master_class)
        run("start", worker_class, "1", "--host", "127.0.0.1", "--webui-port", str(worker_ui),
            "--cores", "1", "--memory", "1g", master_url)
        started.append(worker_class)
        deadline = time.monotonic() + 90
        while _alive_workers(ui_url) < 1:
            if time.monotonic() > deadline:
                logs = "\n".join(p.read_text()[-2000:] for p in (work / "logs").glob("*.out"))
                raise AssertionError(f"no Spark worker registered with {master_url} in 90 s:\n{logs}")
            time.sleep(1)
        yield SparkCluster(master_url, ui_url)
    finally:
        for klass in reversed(started):
            subprocess.run([daemon, "stop", klass, "1"], env=env, capture_output=True, timeout=60, check=False)
        shutil.rmtree(work, ignore_errors=True)


# ----- MLflow server with artifacts on S3 ---------------------------------------------------------------------

MLFLOW_BUCKET = "hm-mlflow"


@pytest.fixture(scope="session")
def mlflow_server(production_platform: ProductionPlatform, s3_endpoint: S3Endpoint,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`mlflow server` as docker-compose runs it (Postgres backend, s3:// artifact root, no artifact proxy)."""
    s3_endpoint.client().create_bucket(Bucket=MLFLOW_BUCKET)
    backend = session_postgres_database("hm_prod_mlflow")
    port = free_loopback_port()
    log = tmp_path_factory.mktemp("mlflow-server") / "server.log"
    command = [str(Path(sys.executable).parent / "mlflow"), "server", "--host=127.0.0.1", f"--port={port}",
               "--workers=1", f"--backend-store-uri={backend}", f"--default-artifact-root=s3://{MLFLOW_BUCKET}/",
               "--no-serve-artifacts"]
    with running_server(command, url=f"http://127.0.0.1:{port}/health", timeout=90,
                        env={**os.environ, **s3_endpoint.env}, log=log):
        yield f"http://127.0.0.1:{port}"


def s3_env(s3_endpoint: S3Endpoint, mlflow_server: str) -> dict[str, str]:
    """What compose passes for MinIO + the MLflow server (AWS_*, MLFLOW_S3_ENDPOINT_URL, the tracking URI)."""
    return {**s3_endpoint.env, "MLFLOW_TRACKING_URI": mlflow_server,
            "HASHIRAMART_MLFLOW_ARTIFACTS": f"s3://{MLFLOW_BUCKET}/"}


def recommender_inputs(landing: Path):
    """The recommender's inputs straight from the landed files (as the serving tests build them)."""
    from hashiramart_assets.ml.recommender.interactions import as_of_date, build_interactions
    from hashiramart_assets.ml.train_recommender import RecommenderInputs

    orders, events = pd.read_parquet(landing / "orders"), pd.read_parquet(landing / "events")
    products, customers = pd.read_parquet(landing / "products.parquet"), pd.read_parquet(landing / "customers.parquet")
    for frame in (orders, events):
        frame["date"] = frame["date"].astype(str)
    orders["product_id"] = orders["product_id"].astype(str)
    products["product_id"] = products["product_id"].astype(str)
    interactions = build_interactions(orders, events, as_of_date(orders, events))
    return RecommenderInputs(interactions, orders, events, customers, products)


@dataclass(frozen=True)
class ModelVersionRef:
    version: str
    run_id: str


@pytest.fixture(scope="session")
def s3_champion(production_platform: ProductionPlatform, s3_endpoint: S3Endpoint,
                mlflow_server: str) -> ModelVersionRef:
    """A recommender trained on the tiny data, logged through the MLflow server (artifacts in S3), promoted."""
    import mlflow
    from mlflow.tracking import MlflowClient

    from hashiramart_assets.ml import registry
    from hashiramart_assets.ml.recommender.params import RecommenderParams
    from hashiramart_assets.ml.registration import Lineage
    from hashiramart_assets.ml.tracking import ensure_experiment
    from hashiramart_assets.ml.train_recommender import train_recommender

    saved = apply_env({**production_platform.env, **s3_env(s3_endpoint, mlflow_server)})
    try:
        settings = load_settings()
        ensure_experiment(settings.mlflow_tracking_uri, settings.mlflow_experiment, settings.mlflow_artifact_root)
        mlflow.set_experiment(settings.mlflow_experiment)
        client = MlflowClient(settings.mlflow_tracking_uri)
        try:
            trained = train_recommender(recommender_inputs(settings.landing_dir),
                                        RecommenderParams(factors=8, iterations=3),
                                        Lineage("production-tests", "test", {"data": "1"}), client)
        finally:
            while mlflow.active_run() is not None:
                mlflow.end_run()
        registry.promote(client, registry.RECOMMENDER, trained.registration.version, "production tests")
    finally:
        restore_env(saved)
    return ModelVersionRef(trained.registration.version, trained.registration.run_id)


@dataclass(frozen=True)
class S3Platform:
    tracking_uri: str
    champion: ModelVersionRef


@pytest.fixture
def s3_platform(production_env: ProductionPlatform, s3_endpoint: S3Endpoint, mlflow_server: str,
                s3_champion: ModelVersionRef, monkeypatch: pytest.MonkeyPatch) -> S3Platform:
    """The production env with MLflow on the server and its artifacts (and AWS_*) on the S3 endpoint."""
    import mlflow

    for key, value in s3_env(s3_endpoint, mlflow_server).items():
        monkeypatch.setenv(key, value)
    mlflow.set_tracking_uri(mlflow_server)
    return S3Platform(mlflow_server, s3_champion)
