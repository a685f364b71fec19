"""`hashiramart serve` and `hashiramart config` know the serving settings; production refuses the default secret."""

from __future__ import annotations

import json

from click.testing import CliRunner

from hashiramart_assets.cli import main


def test_config_shows_serving_settings(world):
    out = CliRunner().invoke(main, ["config", "--json"])
    assert out.exit_code == 0, out.output
    values = json.loads(out.output)
    for key in ("HASHIRAMART_JWT_SECRET", "HASHIRAMART_ENV", "HASHIRAMART_MODEL_POLL_SECONDS", "DAGSTER_GRAPHQL_URL",
                "HASHIRAMART_ADMIN_PASSWORD"):
        assert key in values, key
    assert values["HASHIRAMART_JWT_SECRET"] == "(set)"  # never printed


def test_serve_refuses_production_with_the_default_secret(monkeypatch):
    monkeypatch.setenv("HASHIRAMART_ENV", "production")
    monkeypatch.delenv("HASHIRAMART_JWT_SECRET", raising=False)
    out = CliRunner().invoke(main, ["serve", "--port", "1"])
    assert out.exit_code != 0 and "HASHIRAMART_JWT_SECRET" in out.output
