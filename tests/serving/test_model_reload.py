"""Hot reload on a real uvicorn server, and a registry that goes away (a real `mlflow server`, then killed)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from hashiramart_assets.ml import registry
from tests.serving.conftest import ADMIN_PASSWORD, login
from tests.support import free_loopback_port, running_server, stop_process_group


@pytest.fixture
def uvicorn_server(world) -> Iterator[str]:
    """``uvicorn serving.app:app`` as its own process on a free loopback port, polling the alias every 0.5 s."""
    port = free_loopback_port()
    env = {**os.environ, "HASHIRAMART_MODEL_POLL_SECONDS": "0.5"}
    base = f"http://127.0.0.1:{port}"
    with running_server([sys.executable, "-m", "uvicorn", "serving.app:app", "--host", "127.0.0.1", "--port",
                         str(port), "--log-level", "warning"], url=f"{base}/health", timeout=120, env=env) as process:
        yield base
    assert process.returncode is not None


def test_hot_reload_on_a_real_server_without_errors(world, second_version, uvicorn_server):
    base = uvicorn_server
    with httpx.Client(base_url=base, timeout=10) as http:
        deadline = time.monotonic() + 60
        while http.get("/ready").status_code != 200:
            assert time.monotonic() < deadline, http.get("/ready").text
            time.sleep(0.3)
        token = http.post("/auth/token", data={"username": "admin", "password": ADMIN_PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        customer = int(world.recommender_inputs.orders["customer_id"].iloc[0])
        assert http.post("/recommend", json={"customer_id": customer}, headers=headers).json()["model_version"] == "1"

        seen: list[tuple[int, str]] = []
        stop = threading.Event()

        def hammer() -> None:
            with httpx.Client(base_url=base, timeout=10) as client:
                while not stop.is_set():
                    r = client.post("/recommend", json={"customer_id": customer}, headers=headers)
                    seen.append((r.status_code, r.json().get("model_version", "") if r.status_code == 200 else r.text))

        thread = threading.Thread(target=hammer)
        thread.start()
        try:
            time.sleep(0.5)
            registry.promote(world.client, registry.RECOMMENDER, second_version, "hot reload test")
            deadline = time.monotonic() + 30
            while http.post("/recommend", json={"customer_id": customer},
                            headers=headers).json()["model_version"] != second_version:
                assert time.monotonic() < deadline, "the server never picked up the new champion"
                time.sleep(0.2)
            time.sleep(0.5)
        finally:
            stop.set()
            thread.join(timeout=30)
            registry.promote(world.client, registry.RECOMMENDER, "1", "back to v1 after the hot reload test")
        assert seen and all(code == 200 for code, _ in seen), [s for s in seen if s[0] != 200][:3]
        versions = [v for _, v in seen]
        assert versions[0] == "1" and versions[-1] == second_version
        switch = versions.index(second_version)
        assert set(versions[switch:]) == {second_version}, "once swapped, no request goes back to the old version"
        ready = http.get("/ready").json()
        assert ready["models"]["hashiramart-recommender"]["registry_champion"] in ("1", second_version)
        metrics = http.get("/metrics").text
        assert 'hashiramart_model_reloads_total{model="hashiramart-recommender",outcome="success"} 2.0' in metrics


@pytest.fixture
def mlflow_server(world) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_loopback_port()
    with running_server([sys.executable, "-m", "mlflow", "server", "--backend-store-uri", world.tracking_uri,
                         "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
                        url=f"http://127.0.0.1:{port}/health", timeout=120, quiet=True) as process:
        yield f"http://127.0.0.1:{port}", process


def test_registry_down_keeps_the_last_good_model(world, mlflow_server, monkeypatch):
    from serving.app import create_app

    uri, process = mlflow_server
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "5")
    settings = dataclasses.replace(world.settings, mlflow_tracking_uri=uri)
    with TestClient(create_app(settings)) as client:
        headers = login(client, "admin", ADMIN_PASSWORD)
        ready = client.get("/ready").json()
        assert ready["status"] == "ok", ready
        stop_process_group(process)  # the registry goes away
        reload = client.post("/admin/reload-models", headers=headers).json()
        assert "registry unreachable" in reload["outcome"][registry.RECOMMENDER]
        served = client.post("/recommend", json={"customer_id": 1}, headers=headers)
        assert served.status_code == 200 and served.json()["model_version"] == "1"
        product = str(world.products["product_id"].iloc[0])
        assert client.get("/forecasts/sales", params={"product_id": product}, headers=headers).status_code == 200
        ready = client.get("/ready")
        assert ready.status_code == 200
        body = ready.json()
        assert body["status"] == "degraded"
        assert body["models"][registry.RECOMMENDER]["registry_reachable"] is False
        assert body["models"][registry.RECOMMENDER]["version"] == "1"
        assert any("registry unreachable" in p for p in body["problems"])
        assert "hashiramart_model_registry_reachable" in client.get("/metrics").text


def test_registry_down_at_start_answers_503_not_500(world, monkeypatch):
    from serving.app import create_app

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    settings = dataclasses.replace(world.settings, mlflow_tracking_uri=f"http://127.0.0.1:{free_loopback_port()}")
    with TestClient(create_app(settings)) as client:
        headers = login(client, "admin", ADMIN_PASSWORD)
        ready = client.get("/ready")
        assert ready.status_code == 503 and ready.json()["status"] == "not_ready"
        response = client.post("/recommend", json={"customer_id": 1}, headers=headers)
        assert response.status_code == 503 and "registry unreachable" in response.json()["detail"]
        product = str(world.products["product_id"].iloc[0])
        assert client.get("/forecasts/sales", params={"product_id": product}, headers=headers).status_code == 503
        assert client.get("/products", params={"limit": 1}).status_code == 200  # app data still served


def test_models_load_from_the_settings_registry_not_mlflows_process_default(world, monkeypatch, tmp_path):
    """`hashiramart serve` on the embedded defaults sets no MLFLOW_TRACKING_URI: MLflow's own default registry
    (another store) must not be where a champion is looked up or downloaded from."""
    import mlflow

    from serving.app import create_app

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'someone-elses.db'}")
    try:
        with TestClient(create_app(world.settings)) as client:
            headers = login(client, "admin", ADMIN_PASSWORD)
            ready = client.get("/ready").json()
            assert ready["models"][registry.RECOMMENDER]["loaded"] is True, ready
            served = client.post("/recommend", json={"customer_id": 1}, headers=headers)
            assert served.status_code == 200 and served.json()["model_version"] == "1"
    finally:
        mlflow.set_tracking_uri(previous)
