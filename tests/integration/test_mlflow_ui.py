"""`hashiramart mlflow` serves the platform's own tracking store, and the links the assets carry open in it.

Real components: the `hashiramart` command starts a real `mlflow server` on a free loopback port over a
SQLite store with one run, one logged report and one registered version; the links RegistryResource
builds for asset metadata are followed through that server's API.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
from mlflow.tracking import MlflowClient

from hashiramart_assets.resources.mlflow import RegistryResource
from tests.support import free_loopback_port, running_server


def _store_with_a_run(home: Path) -> tuple[str, str, str]:
    tracking_uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    (home / "mlflow").mkdir(parents=True)
    client = MlflowClient(tracking_uri)
    experiment_id = client.create_experiment("hashiramart", artifact_location=str(home / "mlflow" / "artifacts"))
    run = client.create_run(experiment_id)
    client.log_text(run.info.run_id, "<html>drift</html>", "monitoring/feature_drift.html")
    client.set_terminated(run.info.run_id)
    client.create_registered_model("hashiramart-recommender")
    client.create_model_version("hashiramart-recommender", f"runs:/{run.info.run_id}/model", run.info.run_id)
    return tracking_uri, experiment_id, run.info.run_id


def test_links_point_at_the_run_the_version_and_the_report(tmp_path) -> None:
    tracking_uri, experiment_id, run_id = _store_with_a_run(tmp_path)
    links = RegistryResource(tracking_uri=tracking_uri, experiment="hashiramart", ui_url="http://mlflow.test:5000")
    assert links.run_link(run_id).value == f"http://mlflow.test:5000/#/experiments/{experiment_id}/runs/{run_id}"
    assert links.run_link(run_id, "monitoring/feature_drift.html").value == (
        f"http://mlflow.test:5000/#/experiments/{experiment_id}/runs/{run_id}/artifacts/monitoring/feature_drift.html")
    assert links.version_link("hashiramart-recommender", 1).value == (
        "http://mlflow.test:5000/#/models/hashiramart-recommender/versions/1")


def test_hashiramart_mlflow_serves_the_platforms_store(tmp_path) -> None:
    tracking_uri, _, run_id = _store_with_a_run(tmp_path)
    port = free_loopback_port()
    env = {**os.environ, "HASHIRAMART_HOME": str(tmp_path), "MLFLOW_TRACKING_URI": tracking_uri}
    command = [sys.executable, "-m", "hashiramart_assets.cli", "mlflow", "--port", str(port)]
    base = f"http://127.0.0.1:{port}"
    with running_server(command, url=f"{base}/health", timeout=180, env=env, log=tmp_path / "mlflow.log"):
        run = httpx.get(f"{base}/ajax-api/2.0/mlflow/runs/get", params={"run_id": run_id}, timeout=30).json()
        assert run["run"]["info"]["run_id"] == run_id
        report = httpx.get(f"{base}/get-artifact", params={"path": "monitoring/feature_drift.html",
                                                            "run_uuid": run_id}, timeout=30)
        assert report.status_code == 200 and report.text == "<html>drift</html>"
        versions = httpx.get(f"{base}/ajax-api/2.0/mlflow/registered-models/get",
                             params={"name": "hashiramart-recommender"}, timeout=30).json()
        assert versions["registered_model"]["latest_versions"][0]["version"] == "1"
        assert httpx.get(base, timeout=30).status_code == 200  # the UI itself
