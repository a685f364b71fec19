"""`hashiramart dbt-docs` for real: dbt docs generate against the session's embedded Postgres.

Two warehouses on the session's server, each its own database: an empty one (what a new user has before
the first `hashiramart materialize`: the site still builds, the catalog is just empty) and one whose
sources exist as the warehouse load creates them (empty tables) and whose models dbt has built, so the
catalog lists every real column and each must carry a description from the yml files.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from hashiramart_assets.checks.schemas import customer_rfm_schema
from hashiramart_assets.dbt_docs import docs_dir, generate_dbt_docs, run_dbt
from hashiramart_assets.landing import TABLE_COLUMNS
from hashiramart_assets.services.postgres import ensure_database, postgres_url
from hashiramart_assets.settings import Settings, load_settings
from hashiramart_assets.warehouse.load import replace_table

MODELS = {"stg_customers", "stg_products", "stg_orders", "stg_order_lines", "stg_events", "dim_customers",
          "dim_products", "fct_orders", "fct_order_lines", "daily_sales", "customer_value", "product_funnel_daily",
          "product_popularity"}


def _settings(platform_home: Path, tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings of a home in tmp_path whose warehouse is ``database`` on the session's embedded server."""
    url = ensure_database(postgres_url(load_settings()), database)  # HASHIRAMART_HOME is platform_home here
    monkeypatch.setenv("HASHIRAMART_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HASHIRAMART_POSTGRES_URL", url)
    return load_settings()


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def test_docs_generate_on_an_empty_warehouse(platform_home, tmp_path, monkeypatch):
    settings = _settings(platform_home, tmp_path, "hm_dbt_docs_empty", monkeypatch)
    index = generate_dbt_docs(settings)

    assert index == docs_dir(settings) / "index.html" and index.stat().st_size > 0
    assert (index.parent / "static_index.html").exists()
    catalog = _json(index.parent / "catalog.json")
    assert catalog["nodes"] == {} and catalog["sources"] == {} and not catalog["errors"]  # nothing built yet

    manifest = _json(index.parent / "manifest.json")
    daily_sales = manifest["nodes"]["model.hashiramart.daily_sales"]
    assert "LightGBM" in daily_sales["description"]
    assert daily_sales["columns"] and all(c["description"].strip() for c in daily_sales["columns"].values())
    models = {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    assert set(models) == MODELS
    assert all(n["description"].strip() for n in models.values())
    assert all(s["description"].strip() for s in manifest["sources"].values())
    # the Dagster code location's manifest is not where the docs go
    assert not index.is_relative_to(Path(__file__).resolve().parents[2] / "dbt_project")


def test_every_column_of_the_built_models_and_the_sources_is_described(platform_home, tmp_path, monkeypatch):
    settings = _settings(platform_home, tmp_path, "hm_dbt_docs_built", monkeypatch)
    url = settings.postgres_url
    assert url is not None and url.endswith("/hm_dbt_docs_built")  # the test's own database, not the session's
    for table, columns in TABLE_COLUMNS.items():  # as the warehouse load creates them, with no rows
        replace_table(url, "raw", table, pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()}))
    rfm = customer_rfm_schema().columns
    replace_table(url, "features", "customer_rfm",
                  pd.DataFrame({c: pd.Series(dtype=str(column.dtype)) for c, column in rfm.items()}))
    run_dbt(settings, ["run"])

    index = generate_dbt_docs(settings)
    catalog = _json(index.parent / "catalog.json")
    manifest = _json(index.parent / "manifest.json")
    assert {uid.rsplit(".", 1)[-1] for uid in catalog["nodes"]} == MODELS
    assert len(catalog["sources"]) == len(manifest["sources"]) == 5
    for uid, entry in {**catalog["nodes"], **catalog["sources"]}.items():
        node = manifest["nodes"].get(uid) or manifest["sources"][uid]
        described = {name for name, column in node["columns"].items() if column["description"].strip()}
        real = set(entry["columns"])
        assert real - described == set(), f"{uid}: columns without a description in the yml"
        assert set(node["columns"]) - real == set(), f"{uid}: the yml documents columns the relation lacks"
