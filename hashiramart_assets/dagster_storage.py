"""The embedded Dagster instance's storage: Dagster's SQLite storage, made fit for ranged runs.

Why: a ranged run records one materialisation per asset and day. The demo's year of 17 daily dbt and
lake assets is ~6,000 events, and Dagster's SQLite event log spends on each one a new SQLAlchemy engine
(statements compiled afresh), a connection and two fsynced commits (26 ms an event on this machine's
disk under load, 0.7 ms without the fsyncs): most of the demo's time went into the event log. Here:
- ``synchronous=OFF``: every commit stays atomic and safe against a crashed process; only an
  operating-system crash or power loss can lose or corrupt the latest writes. The right trade for the
  embedded, single-user default under HASHIRAMART_HOME; production keeps its durable Postgres storage
  (the repository's dagster.yaml);
- one engine per shard, kept (SQLAlchemy's compiled-statement cache then applies);
- a batch of events (Dagster batches a ranged run's per-day materialisations when
  DAGSTER_EVENT_BATCH_SIZE is set, which this storage sets) in one transaction per shard.

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
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from hashiramart_assets.compat import (
    SQLITE_BUSY_TIMEOUT_SECONDS,
    ConfigurableClassData,
    DagsterSqliteStorage,
    EventLogEntry,
    SqliteEventLogStorage,
)

UNSYNCED_PRAGMA = "PRAGMA synchronous=OFF"
EVENT_BATCH_SIZE_ENV = "DAGSTER_EVENT_BATCH_SIZE"
EVENT_BATCH_SIZE = 1000


CACHED_SHARDS = 8  # engines kept: the index shard and the runs being written or read


def _unsynced(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.execute(UNSYNCED_PRAGMA)


class UnsyncedSqliteEventLogStorage(SqliteEventLogStorage):
    """Dagster's run-sharded SQLite event log: each connection skips the fsync on commit, and each shard
    keeps its SQLAlchemy engine.

    Why keep the engine: Dagster creates (and disposes) an engine for every event, so each event's
    statements are compiled afresh; with a kept engine SQLAlchemy's compiled cache applies. Connections
    still open and close per event (NullPool), as in Dagster, so the UI's file watcher still sees every
    write land in the shard's file.
    """

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._batch = threading.local()  # the connections a batch of events holds, in the writing thread
        super().__init__(base_dir, inst_data=inst_data)

    def store_event_batch(self, events: Sequence[EventLogEntry]) -> None:
        """A batch (one materialisation per day of a ranged run) in one transaction per shard.

        Dagster hands batches over when DAGSTER_EVENT_BATCH_SIZE is set (definitions.py sets it);
        if a batch fails, it is rolled back and Dagster stores the events one by one instead.
        """
        with self._db_lock:
            self._batch.held = {}
            try:
                for entry in events:
                    self.store_event(entry)
                for connection in self._batch.held.values():
                    connection.commit()
            except BaseException:
                for connection in self._batch.held.values():
                    connection.rollback()
                raise
            finally:
                for connection in self._batch.held.values():
                    connection.close()
                self._batch.held = None

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.get(shard)
        if engine is None:
            engine = create_engine(self.conn_string_for_shard(shard), poolclass=NullPool,
                                   connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
            event.listen(engine, "connect", _unsynced)
            self._engines[shard] = engine
            while len(self._engines) > CACHED_SHARDS:
                self._engines.popitem(last=False)[1].dispose()
        self._engines.move_to_end(shard)
        return engine

    @contextlib.contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        held = getattr(self._batch, "held", None)
        if held is not None:  # inside store_event_batch, which holds the lock: one transaction per shard
            if shard not in held:
                engine = self._engine(shard)
                if shard not in self._initialized_dbs:
                    self._initdb(engine)
                    self._initialized_dbs.add(shard)
                held[shard] = engine.connect()
                held[shard].begin()
            yield held[shard]
            return
        # the same steps as Dagster's SqliteEventLogStorage._connect, with a kept engine
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as connection, connection.begin():
                yield connection

    def _forget_engines(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()

    def wipe(self) -> None:
        self._forget_engines()
        super().wipe()

    def delete_events(self, run_id: str) -> None:
        super().delete_events(run_id)
        self._forget_engines()  # the run's shard file may be gone

    def dispose(self) -> None:
        self._forget_engines()
        super().dispose()


class LocalSqliteStorage(DagsterSqliteStorage):
    """Dagster's default SQLite storage (runs, event log, schedules) with the unsynced event log."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None) -> None:
        super().__init__(base_dir, inst_data=inst_data)
        # Dagster then hands a ranged run's per-day materialisations over as batches (store_event_batch);
        # the processes that write (CLI, run workers, daemon) all build their instance from this class
        os.environ.setdefault(EVENT_BATCH_SIZE_ENV, str(EVENT_BATCH_SIZE))
        self._event_log_storage = UnsyncedSqliteEventLogStorage(os.path.join(base_dir, "history", "runs", ""))

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData | None, config_value: Any) -> LocalSqliteStorage:
        return cls(inst_data=inst_data, **dict(config_value))
