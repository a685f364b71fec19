"""Guards of hashiramart_assets/compat.py: each private API the project relies on still exists and works.

A failure here after an upgrade names what to revisit; the rest of the suite would fail later and
further from the cause.
"""

from __future__ import annotations

import inspect
import logging
import subprocess
import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
from dagster_pyspark import LazyPySparkResource

from hashiramart_assets import compat

REPO = Path(__file__).resolve().parents[2]


def test_private_attributes_the_project_overrides_still_exist() -> None:
    assert compat.DBT_CLI_VERSION_ATTR in vars(DbtCliResource), "dagster-dbt renamed _cli_version: see marts.py"
    assert callable(getattr(DbtCliInvocation, compat.DBT_STREAM_STDOUT_ATTR)), "see resources/dbt_stdout.py"
    assert compat.PYSPARK_INIT_SESSION_ATTR in vars(LazyPySparkResource), "see resources/spark.py"
    connect = getattr(compat.SqliteEventLogStorage, compat.SQLITE_EVENT_LOG_CONNECT_ATTR)
    assert list(inspect.signature(connect).parameters) == ["self", "shard"], "see dagster_storage.py"


def test_partition_range_tags_are_the_documented_strings() -> None:
    assert compat.ASSET_PARTITION_RANGE_START_TAG == "dagster/asset_partition_range_start"
    assert compat.ASSET_PARTITION_RANGE_END_TAG == "dagster/asset_partition_range_end"


def test_metadata_value_type_admits_what_assets_attach() -> None:
    args = set(getattr(compat.RawMetadataValue, "__args__", ()))
    assert {str, int, float, dg.MetadataValue} <= args


def test_dagster_event_of_reads_the_event_of_a_real_run() -> None:
    """The progress lines depend on it: a custom logger sees each step's events through it."""
    seen: list[str] = []
    run_ids: set[str | None] = set()

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            event = compat.dagster_event_of(record)
            if event is not None:
                seen.append(event.event_type_value)
                run_ids.add(compat.run_id_of(record))

    @dg.logger
    def collect(_context: dg.InitLoggerContext) -> logging.Logger:
        logger = logging.Logger("collect", level=logging.DEBUG)
        logger.addHandler(Collect())
        return logger

    @dg.asset
    def tiny() -> dg.MaterializeResult:
        return dg.MaterializeResult(metadata={"rows": 1})

    defs = dg.Definitions(assets=[tiny], jobs=[dg.define_asset_job("tiny_job")], loggers={"collect": collect})
    result = defs.resolve_job_def("tiny_job").execute_in_process(
        run_config={"loggers": {"collect": {}}}, instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert {dg.DagsterEventType.RUN_START.value, "STEP_START", "ASSET_MATERIALIZATION", "STEP_SUCCESS"} <= set(seen)
    assert run_ids == {result.run_id}
    assert compat.dagster_event_of(logging.LogRecord("x", logging.INFO, "", 0, "plain", None, None)) is None


def test_no_module_outside_compat_imports_private_dagster() -> None:
    """Private imports live in compat.py only (the storage plugin takes its classes from there too)."""
    found = subprocess.run(
        ["grep", "-rlE", r"from dagster\._|import dagster\._", "hashiramart_assets", "serving"],
        cwd=REPO, capture_output=True, text=True, check=False,
    ).stdout.split()
    assert [f for f in found if not f.endswith("compat.py") and "__pycache__" not in f] == []
    assert sys.modules["hashiramart_assets.compat"] is compat
