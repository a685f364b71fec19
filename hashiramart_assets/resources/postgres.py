"""Postgres for marts and app data: the embedded server by default, HASHIRAMART_POSTGRES_URL if set."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from hashiramart_assets.services.postgres import EmbeddedPostgres


class PostgresResource(dg.ConfigurableResource):
    """Resolves to a SQLAlchemy URL, starting the embedded server on first use when no URL is set."""

    url: str | None = None
    embedded_dir: str

    def get_url(self) -> str:
        if self.url:
            return self.url
        return EmbeddedPostgres(Path(self.embedded_dir)).ensure_running()
