"""The embedded Dagster instance's storage: Dagster's SQLite storage without an fsync per event.

Why: a ranged run records one materialisation per asset and day. The demo's year of 17 daily assets
is ~13,000 SQLite commits, each opening, committing and closing its shard with two fsyncs (26 ms an
event on this machine's disk under load, 0.7 ms without the fsyncs): well over half of the demo's time
went into the event log. ``synchronous=OFF`` keeps every commit atomic and safe against a crashed
process; only an operating-system crash or power loss can lose or corrupt the latest writes. That is the
right trade for the embedded, single-user default under HASHIRAMART_HOME. Production keeps its durable
Postgres storage (the repository's dagster.yaml).

Configured by the dagster.yaml that ``runner.prepare_dagster_home`` writes::

    storage:
      custom:
        module: hashiramart_assets.dagster_storage
        class: LocalSqliteStorage
        config: {base_dir: <DAGSTER_HOME>}

The files stay where Dagster's default SQLite storage keeps them, so an existing home keeps its history.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from sqlalchemy.engine import Connection

from hashiramart_assets.compat import ConfigurableClassData, DagsterSqliteStorage, SqliteEventLogStorage

UNSYNCED_PRAGMA = "PRAGMA synchronous=OFF"


class UnsyncedSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log; each shard connection skips the fsync on commit."""

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with super()._connect(shard) as connection:
            # pysqlite opens its transaction lazily, at the first write: the pragma runs before it
            connection.exec_driver_sql(UNSYNCED_PRAGMA)
            yield connection


class LocalSqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage (runs, event log, schedules) with the unsynced event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(base_dir, inst_data=inst_data)
        self._event_log_storage = UnsyncedSqliteEventLogStorage(os.path.join(base_dir, "history", "runs", ""))

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> LocalSqliteStorage:
        return cls(inst_data=inst_data, **dict(config_value))
