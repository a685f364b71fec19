"""A real server's URL (with its password) reaches the Postgres resource by name, never as a value Dagster
records: the resource's configuration, which the UI shows, names HASHIRAMART_POSTGRES_URL; the asset still
gets the URL when it runs."""

# No `from __future__ import annotations`: Dagster reads the resource annotation at definition time.

from pathlib import Path

import dagster as dg

from hashiramart_assets.resources.postgres import POSTGRES_URL_ENV, PostgresResource, postgres_resource

SECRET_URL = "postgresql+psycopg2://shop:s3cret-pw@127.0.0.1:5439/warehouse"


def test_the_password_is_read_from_the_environment_and_never_recorded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(POSTGRES_URL_ENV, SECRET_URL)
    seen: list[str] = []

    @dg.asset
    def uses_the_warehouse(postgres: PostgresResource) -> None:
        seen.append(postgres.get_url())

    resource = postgres_resource(SECRET_URL, tmp_path / "pg")
    shown = resource.get_resource_definition().config_schema.as_field().default_value
    assert shown["url"] == {"env": POSTGRES_URL_ENV} and "s3cret-pw" not in str(shown)
    result = dg.materialize([uses_the_warehouse], resources={"postgres": resource})
    assert result.success and seen == [SECRET_URL]


def test_without_a_url_the_embedded_server_is_used(tmp_path: Path) -> None:
    resource = postgres_resource(None, tmp_path / "pg")
    assert resource.url is None and resource.embedded_dir == str(tmp_path / "pg")
