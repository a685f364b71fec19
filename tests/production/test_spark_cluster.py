"""The feature assets on a Spark standalone cluster, changed only by SPARK_MASTER, give local mode's output.

The cluster run is the real CLI (`hashiramart materialize 'group:features'`) in a subprocess: this test
process already holds the session's local SparkContext, and a process can have only one.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from hashiramart_assets.definitions import build_definitions
from hashiramart_assets.lake import paths, store
from hashiramart_assets.runner import get_instance, materialize
from hashiramart_assets.settings import load_settings
from tests.production.conftest import REPO, ProductionPlatform, SparkCluster

FEATURES = {"interactions": ["customer_id", "product_id"], "customer_rfm": ["customer_id"],
            "daily_sales": ["date", "product_id"]}


def _lake_copy(platform: ProductionPlatform, target: Path) -> str:
    """A private copy of the raw layer (nothing else writes to it while the two modes run)."""
    shutil.copytree(platform.home / "lake" / "raw", target / "raw", ignore=shutil.ignore_patterns("*.tmp"))
    return str(target)


def _completed_apps(cluster: SparkCluster, wait_s: float = 20) -> list[dict]:
    """Applications the master has finished (it moves one there shortly after its driver exits)."""
    deadline = time.monotonic() + wait_s
    while True:
        with urllib.request.urlopen(f"{cluster.ui_url}/json/", timeout=10) as response:
            apps = json.load(response)["completedapps"]
        if apps or time.monotonic() > deadline:
            return apps
        time.sleep(0.5)


def _features(lake: str) -> dict[str, pd.DataFrame]:
    frames = {}
    for name, keys in FEATURES.items():
        frame = store.read_parquet(paths.feature_dir(lake, name))
        frames[name] = frame.sort_values(keys).reset_index(drop=True)
    return frames


def test_feature_assets_on_the_cluster_match_local_mode(production_platform: ProductionPlatform, spark_cluster:
                                                        SparkCluster, spark, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch):
    cluster_lake = _lake_copy(production_platform, tmp_path / "cluster_lake")
    local_lake = _lake_copy(production_platform, tmp_path / "local_lake")
    base_env = {**production_platform.env,
                "DAGSTER_HOME": str(tmp_path / "dagster-cluster"),  # SQLite instance: only the master differs
                "HASHIRAMART_LAKE_URI": cluster_lake, "SPARK_MASTER": spark_cluster.master_url}
    for key in [k for k in base_env if k.startswith("DAGSTER_POSTGRES_")]:
        base_env.pop(key)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "hashiramart"), "materialize", "group:features"],
        cwd=REPO, env={**os.environ, **base_env}, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    assert [app["name"] for app in _completed_apps(spark_cluster)] == ["hashiramart"]  # ran on the cluster

    # local mode: the same assets in this process on the session's local[2] SparkSession
    for key, value in {**base_env, "HASHIRAMART_LAKE_URI": local_lake, "SPARK_MASTER": "local[2]",
                       "DAGSTER_HOME": str(tmp_path / "dagster-local")}.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    instance = get_instance(settings)
    try:
        summary = materialize(build_definitions(settings), instance, "group:features")
    finally:
        instance.dispose()
    assert summary.success and not summary.failed_checks, summary

    cluster, local = _features(cluster_lake), _features(local_lake)
    for name in FEATURES:
        assert len(local[name]) > 0
        pd.testing.assert_frame_equal(cluster[name], local[name], check_exact=False, rtol=1e-9)
