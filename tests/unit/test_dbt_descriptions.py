"""Every dbt model, source table and documented column has a description, and dbt parses without warnings.

The descriptions are what a new user reads in the Dagster asset catalog (dagster-dbt takes them from the
manifest) and in `hashiramart dbt-docs`. The manifest is the project's own, prepared as the code location
prepares it (assets/marts.py ``dbt_project``: `dbt parse` when it is missing or older than the yml/sql).
That every *real* column is listed is checked against the database catalog in
tests/integration/test_dbt_docs.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hashiramart_assets.assets.marts import DBT_PROJECT_DIR, dbt_project
from hashiramart_assets.ml.inputs import DAILY_SALES_COLUMNS


def _manifest() -> dict:
    return json.loads(dbt_project().manifest_path.read_text())


def _models(manifest: dict) -> dict[str, dict]:
    return {uid: n for uid, n in manifest["nodes"].items()
            if n["resource_type"] == "model" and n["package_name"] == "hashiramart"}


def test_every_model_and_its_listed_columns_are_described():
    models = _models(_manifest())
    assert len(models) >= 13
    missing = [uid for uid, node in models.items() if not node["description"].strip()]
    assert missing == [], f"models without a description: {missing}"
    for uid, node in models.items():
        assert node["columns"], f"{uid} lists no columns in its yml"
        undocumented = [name for name, column in node["columns"].items() if not column["description"].strip()]
        assert undocumented == [], f"{uid}: columns without a description: {undocumented}"


def test_every_source_table_and_column_is_described():
    sources = _manifest()["sources"]
    assert {s["source_name"] + "." + s["name"] for s in sources.values()} >= {
        "raw.customers", "raw.products", "raw.orders", "raw.events", "features.customer_rfm"}
    for uid, source in sources.items():
        assert source["source_description"].strip(), f"source {source['source_name']} has no description"
        assert source["description"].strip(), f"{uid} has no description"
        undocumented = [name for name, column in source["columns"].items() if not column["description"].strip()]
        assert source["columns"] and undocumented == [], f"{uid}: columns without a description: {undocumented}"


def test_the_columns_the_forecaster_reads_from_daily_sales_are_documented():
    columns = _manifest()["nodes"]["model.hashiramart.daily_sales"]["columns"]
    read = {c.strip() for c in DAILY_SALES_COLUMNS.split(",")}
    assert read <= set(columns), f"undocumented daily_sales columns: {read - set(columns)}"


# dbt-core runs its JSON-schema checks of the yml files (deprecated top-level properties such as a source's
# `freshness`, custom keys outside `config: meta:`) only for some adapters, not postgres; switched on here
# so the project stays clean for newer dbt versions and dbt Fusion, which enforce them.
_PARSE_COLLECTING_WARNINGS = """
import json, sys
import dbt.jsonschemas.jsonschemas as schemas
assert hasattr(schemas, "_JSONSCHEMA_SUPPORTED_ADAPTERS"), "dbt renamed it: revisit test_dbt_descriptions.py"
schemas._JSONSCHEMA_SUPPORTED_ADAPTERS = {*schemas._JSONSCHEMA_SUPPORTED_ADAPTERS, "postgres"}
from dbt.cli.main import dbtRunner
warnings = []
def collect(event):
    if event.info.level in ("warn", "error"):
        warnings.append(event.info.name + ": " + event.info.msg)
result = dbtRunner(callbacks=[collect]).invoke(sys.argv[1:])
print(json.dumps({"success": result.success, "warnings": warnings}))
"""


def test_dbt_parse_prints_no_deprecation_or_other_warning(tmp_path):
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    args = ["parse", "--no-partial-parse", "--show-all-deprecations", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
            "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(tmp_path / "target"),
            "--log-path", str(tmp_path / "logs")]
    result = subprocess.run([sys.executable, "-c", _PARSE_COLLECTING_WARNINGS, *args], env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["success"] and report["warnings"] == []
