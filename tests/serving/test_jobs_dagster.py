"""Admin job endpoints against a real dagster-webserver (tiny code location, temporary DAGSTER_HOME)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.conftest import world_searchable_tempdir
from tests.serving.conftest import ADMIN_PASSWORD, login, new_customer
from tests.support import free_loopback_port, running_server

DEFS = Path(__file__).with_name("dagster_defs.py")
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


@pytest.fixture(scope="module")
def dagster_url() -> Iterator[str]:
    home = world_searchable_tempdir("hm-serving-dagster-")
    # runs start at once (no daemon needed); the default launcher runs them in a subprocess
    (home / "dagster.yaml").write_text(
        "run_coordinator:\n  module: dagster._core.run_coordinator\n  class: DefaultRunCoordinator\n"
        "telemetry:\n  enabled: false\n"
    )
    port = free_loopback_port()
    env = {**os.environ, "DAGSTER_HOME": str(home)}
    try:
        with running_server([str(Path(sys.executable).with_name("dagster-webserver")), "-f", str(DEFS),
                             "-h", "127.0.0.1", "-p", str(port)],
                            url=f"http://127.0.0.1:{port}/server_info", timeout=120, env=env, quiet=True):
            yield f"http://127.0.0.1:{port}/graphql"
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def jobs_client(world, dagster_url) -> Iterator[TestClient]:
    from serving.app import create_app

    settings = dataclasses.replace(world.settings, dagster_graphql_url=dagster_url)
    with TestClient(create_app(settings, start_models=False)) as client:
        yield client


def test_launch_training_and_follow_the_run(jobs_client):
    headers = login(jobs_client, "admin", ADMIN_PASSWORD)
    for model in ("recommender", "forecaster"):
        launched = jobs_client.post(f"/jobs/training/{model}", headers=headers)
        assert launched.status_code == 202, launched.text
        body = launched.json()
        assert body["model"] == model and body["job_name"] == "__ASSET_JOB" and len(body["run_id"]) == 36
        deadline = time.monotonic() + 90
        while True:
            status = jobs_client.get(f"/jobs/{body['run_id']}", headers=headers)
            assert status.status_code == 200, status.text
            if status.json()["status"] in TERMINAL:
                break
            assert time.monotonic() < deadline, status.json()
            time.sleep(0.5)
        assert status.json()["status"] == "SUCCESS" and status.json()["job_name"] == "__ASSET_JOB"


def test_job_errors(jobs_client):
    headers = login(jobs_client, "admin", ADMIN_PASSWORD)
    missing = jobs_client.get("/jobs/00000000-0000-0000-0000-000000000000", headers=headers)
    assert missing.status_code == 404
    assert jobs_client.post("/jobs/training/everything", headers=headers).status_code == 422
    assert jobs_client.get("/jobs/bad id!", headers=headers).status_code == 422
    customer, _ = new_customer(jobs_client)
    assert jobs_client.post("/jobs/training/recommender", headers=customer).status_code == 403
    assert jobs_client.post("/jobs/training/recommender").status_code == 401


def test_dagster_unreachable_is_503(app_client, admin_headers):
    # the shared app points DAGSTER_GRAPHQL_URL at a closed loopback port
    launched = app_client.post("/jobs/training/recommender", headers=admin_headers)
    assert launched.status_code == 503 and "unreachable" in launched.json()["detail"]
    status = app_client.get("/jobs/abc", headers=admin_headers)
    assert status.status_code == 503 and "unreachable" in status.json()["detail"]
