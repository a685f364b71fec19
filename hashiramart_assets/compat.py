"""Every use of a library's private API, in one place, each with a guard test (tests/unit/test_compat.py).

Why one module: a Dagster, dagster-dbt or dagster-pyspark upgrade that renames one of these breaks this
module's guard test with a message naming what to revisit, instead of a run failing somewhere deep in
the graph. Code elsewhere imports the names below, never ``dagster._core`` or another library's
underscored attribute.

What is private, and why it is used:
- ``RawMetadataValue``: the type of a metadata dict's values; Dagster exports no public alias.
- ``ASSET_PARTITION_RANGE_START_TAG`` / ``..._END_TAG``: the run tags of a ranged (single-run backfill)
  run; Dagster documents the tag strings but not the constants.
- ``dagster_event_of``: a Dagster log record carries its structured event in ``record.dagster_meta``;
  the CLI's progress lines read it (hashiramart_assets/progress.py).
- dagster-dbt ``DbtCliResource._cli_version`` (hashiramart_assets/assets/marts.py overrides it to skip a
  ``dbt --version`` per run) and ``DbtCliInvocation._stream_stdout`` (resources/dbt_stdout.py reads it
  ahead so dbt never blocks on Dagster's event writes).
- dagster-pyspark ``PySparkResource._init_session`` (resources/spark.py builds the session with the
  project's launcher fix).
- Dagster's SQLite storage classes, ``ConfigurableClassData``, ``SQLITE_BUSY_TIMEOUT_SECONDS`` and
  ``SqliteEventLogStorage._connect`` with the attributes it uses (``_db_lock``, ``_initialized_dbs``,
  ``_initdb``): dagster_storage.py, the embedded instance's storage plugin (no fsync per event, kept engines).
- ``DagsterExecutionInterruptedError`` is public (``dagster.DagsterExecutionInterruptedError``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from dagster._core.definitions.metadata import RawMetadataValue
from dagster._core.events.log import EventLogEntry
from dagster._core.log_manager import LOG_RECORD_METADATA_ATTR
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster._serdes import ConfigurableClassData

if TYPE_CHECKING:
    from dagster import DagsterEvent

__all__ = [
    "ASSET_PARTITION_RANGE_END_TAG",
    "ASSET_PARTITION_RANGE_START_TAG",
    "DBT_CLI_VERSION_ATTR",
    "DBT_STREAM_STDOUT_ATTR",
    "PYSPARK_INIT_SESSION_ATTR",
    "SQLITE_BUSY_TIMEOUT_SECONDS",
    "SQLITE_EVENT_LOG_CONNECT_ATTR",
    "ConfigurableClassData",
    "DagsterSqliteStorage",
    "EventLogEntry",
    "RawMetadataValue",
    "SqliteEventLogStorage",
    "dagster_event_of",
    "run_id_of",
]

# Private attributes overridden or wrapped elsewhere; tests/unit/test_compat.py checks each still exists.
DBT_CLI_VERSION_ATTR = "_cli_version"
DBT_STREAM_STDOUT_ATTR = "_stream_stdout"
PYSPARK_INIT_SESSION_ATTR = "_init_session"
SQLITE_EVENT_LOG_CONNECT_ATTR = "_connect"


def dagster_event_of(record: logging.LogRecord) -> DagsterEvent | None:
    """The structured Dagster event a log record carries (None for plain log messages)."""
    meta: Any = getattr(record, LOG_RECORD_METADATA_ATTR, None)
    return meta.get("dagster_event") if isinstance(meta, dict) else None


def run_id_of(record: logging.LogRecord) -> str | None:
    """The id of the run a Dagster log record belongs to (a DagsterEvent does not carry it)."""
    meta: Any = getattr(record, LOG_RECORD_METADATA_ATTR, None)
    return meta.get("run_id") if isinstance(meta, dict) else None
