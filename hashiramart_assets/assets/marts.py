"""dbt staging and marts on Postgres, one continuous graph with the lake (dagster-dbt glue)."""

# No `from __future__ import annotations`: Dagster reads the context annotation at definition time.

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import dagster as dg
import sqlalchemy
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, DbtCliResource, DbtProject, dbt_assets
from dbt.version import __version__ as DBT_CORE_VERSION
from packaging import version

from hashiramart_assets.automation import FRESHNESS
from hashiramart_assets.resources.dbt_stdout import read_ahead
from hashiramart_assets.resources.postgres import PostgresResource

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")
KEEP_RUN_TARGETS = 10  # dbt target folders of the latest invocations kept for inspection (run_results, logs)


class HashiraMartTranslator(DagsterDbtTranslator):
    """Sources resolve to the warehouse-load assets; models to staging/<name> and marts/<name>."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey(["warehouse", f"{dbt_resource_props['source_name']}_{dbt_resource_props['name']}"])
        name = dbt_resource_props["name"]
        return dg.AssetKey(["staging" if name.startswith("stg_") else "marts", name])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return "staging" if dbt_resource_props["name"].startswith("stg_") else "marts"

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        return super().get_asset_spec(manifest, unique_id, project).replace_attributes(freshness_policy=FRESHNESS)


def dbt_project() -> DbtProject:
    """The project, with target/manifest.json prepared (dbt parse) whenever it is missing or stale."""
    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    sources = [p for p in DBT_PROJECT_DIR.rglob("*") if p.suffix in (".sql", ".yml") and "target" not in p.parts]
    manifest = project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        result = subprocess.run(
            [DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(DBT_PROJECT_DIR),
             "--profiles-dir", str(DBT_PROJECT_DIR)],
            env=env, capture_output=True, text=True, timeout=300,
        )
        if result.returncode != 0 or not manifest.exists():
            output = result.stdout[-2000:] + result.stderr[-2000:]
            raise RuntimeError(f"dbt parse failed in {DBT_PROJECT_DIR}:\n{output}")
    return project


def dbt_env(url: str) -> dict[str, str]:
    """profiles.yml reads these; they come from the embedded server or HASHIRAMART_POSTGRES_URL."""
    parsed = sqlalchemy.engine.make_url(url)
    return {
        "HASHIRAMART_PG_HOST": parsed.host or "127.0.0.1",
        "HASHIRAMART_PG_PORT": str(parsed.port or 5432),
        "HASHIRAMART_PG_USER": parsed.username or "",
        "HASHIRAMART_PG_PASSWORD": parsed.password or "",
        "HASHIRAMART_PG_DATABASE": parsed.database or "",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def build_dbt_assets(partitions_def: dg.TimeWindowPartitionsDefinition) -> dg.AssetsDefinition:
    project = dbt_project()

    @dbt_assets(
        manifest=project.manifest_path,
        dagster_dbt_translator=HashiraMartTranslator(),
        partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run(),
        name="hashiramart_dbt",
    )
    def hashiramart_dbt(context: dg.AssetExecutionContext, dbt: DbtCliResource, postgres: PostgresResource):
        os.environ.update(dbt_env(postgres.get_url()))
        window = context.partition_time_window
        dbt_vars = {"start_date": window.start.date().isoformat(), "end_date": window.end.date().isoformat()}
        try:
            yield from dbt.cli(["build", "--vars", json.dumps(dbt_vars)], context=context).stream()
        finally:
            prune_run_targets(DBT_PROJECT_DIR / "target", context.op_execution_context.op.name)

    return hashiramart_dbt


def prune_run_targets(target_dir: Path, op_name: str, keep: int = KEEP_RUN_TARGETS) -> list[Path]:
    """Remove all but the ``keep`` newest per-invocation target folders (``<op>-<run>-<id>``) of an op.

    Why: dagster-dbt gives every invocation its own target folder (manifest, run_results, dbt.log,
    compiled SQL: ~2 MB each) and never removes one; a sensor-driven platform piles up thousands.
    """
    folders = sorted((p for p in target_dir.glob(f"{op_name}-*") if p.is_dir()), key=lambda p: p.stat().st_mtime)
    removed = folders[:-keep] if keep > 0 else folders
    for folder in removed:
        shutil.rmtree(folder, ignore_errors=True)
    return removed


class HashiraMartDbtCli(DbtCliResource):
    """DbtCliResource that knows its dbt's version instead of asking it, and reads dbt's output ahead.

    dagster-dbt runs `dbt --version` (a whole dbt start-up, ~2 s) in every run to learn the engine's
    version; our executable is this environment's dbt-core (DBT_EXECUTABLE), already imported here.
    ``cli`` drains dbt's output in a thread so dbt never blocks on Dagster's event writes (dbt_stdout.py).
    """

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(DBT_CORE_VERSION)

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        return read_ahead(super().cli(args, **kwargs))


def dbt_resource() -> DbtCliResource:
    # DbtCliResource.__init__ takes a DbtProject; for the subclass mypy synthesises the field-based one (str)
    return HashiraMartDbtCli(project_dir=dbt_project(), dbt_executable=DBT_EXECUTABLE)  # type: ignore[arg-type]
