"""Postgres for marts and app data: the embedded server by default, HASHIRAMART_POSTGRES_URL if set."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import sqlalchemy
from pydantic import PrivateAttr

from hashiramart_assets.services.postgres import EmbeddedPostgres

POSTGRES_URL_ENV = "HASHIRAMART_POSTGRES_URL"


class PostgresResource(dg.ConfigurableResource):
    """Hands out the warehouse's SQLAlchemy engine (one per resource, pooled), starting the embedded
    server on first use when no URL is set.

    The URL of a real server carries its password: definitions.py passes it as ``dg.EnvVar``, so the
    Dagster UI shows the variable's name, never its value.
    """

    url: str | None = None
    embedded_dir: str
    _engine: sqlalchemy.Engine | None = PrivateAttr(default=None)

    def get_url(self) -> str:
        """For what needs the URL itself (dbt's profile, psycopg2's COPY); everything else takes the engine."""
        if self.url:
            return self.url
        return EmbeddedPostgres(Path(self.embedded_dir)).ensure_running()

    def get_engine(self) -> sqlalchemy.Engine:
        if self._engine is None:
            self._engine = sqlalchemy.create_engine(self.get_url(), pool_pre_ping=True, pool_size=2)
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def postgres_resource(url: str | None, embedded_dir: Path) -> PostgresResource:
    """The resource for these settings: a set URL is read from the environment, by name."""
    return PostgresResource(url=dg.EnvVar(POSTGRES_URL_ENV) if url else None, embedded_dir=str(embedded_dir))
