"""The app database: one SQLAlchemy engine, a health probe, and the app schema's migrations.

Why SQLAlchemy Core with bound parameters: no SQL is ever built by string concatenation, and the
queries stay readable SQL rather than an ORM layer for four small tables.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import sqlalchemy
from sqlalchemy.engine import Engine

from hashiramart_assets.app_schema import migrate


class Database:
    """Lazily connected: a database that is down at start is retried (``ensure_ready``) instead of crashing."""

    def __init__(self, url_factory: Callable[[], str]) -> None:
        self._url_factory = url_factory
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self.migrated = False
        self.last_error: str | None = None
        self.applied_migrations: list[int] = []

    @property
    def engine(self) -> Engine:
        """The engine; raises :class:`DatabaseUnavailable` until the database has been reached once."""
        if (self._engine is None or not self.migrated) and not self.ensure_ready():
            raise DatabaseUnavailable(self.last_error or "database not reachable")
        assert self._engine is not None
        return self._engine

    def ensure_ready(self) -> bool:
        """Connect and migrate once; safe to call from the poller and from requests concurrently."""
        if self._engine is not None and self.migrated:
            return True
        with self._lock:
            if self._engine is not None and self.migrated:
                return True
            try:
                if self._engine is None:
                    self._engine = sqlalchemy.create_engine(
                        self._url_factory(), pool_pre_ping=True, pool_size=8, max_overflow=8,
                        connect_args={"connect_timeout": 5},
                    )
                self.applied_migrations = migrate(self._engine)
                self.migrated = True
                self.last_error = None
            except Exception as exc:  # any failure to reach or migrate: reported by /ready, retried later
                self.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
                return False
        return True

    def ping(self) -> tuple[bool, str | None]:
        """(reachable, error) by running ``select 1`` now."""
        if not self.ensure_ready():
            return False, self.last_error
        assert self._engine is not None
        try:
            with self._engine.connect() as conn:
                conn.execute(sqlalchemy.text("select 1"))
            return True, None
        except Exception as exc:  # reported, not raised: /ready answers for a down database
            return False, f"{type(exc).__name__}: {exc}".splitlines()[0][:500]

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


class DatabaseUnavailable(RuntimeError):
    """The app database cannot be reached (answered with 503)."""
