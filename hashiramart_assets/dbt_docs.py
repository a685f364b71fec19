"""The dbt docs site of the warehouse (``hashiramart dbt-docs``): models, sources, columns, lineage.

Why a command of its own: ``dbt docs generate`` queries the database's catalog (the columns and types of
every relation), so it needs the connection the dbt assets use: HASHIRAMART_POSTGRES_URL, or the embedded
Postgres started on demand (services/postgres.py ``postgres_url``), exported as the env vars profiles.yml
reads (assets/marts.py ``dbt_env``). Relations that do not exist yet (an empty warehouse) are simply absent
from the catalog; the descriptions come from the project's yml files and need no data.

The site is written to HASHIRAMART_HOME/dbt_docs, not dbt_project/target: dbt writes a manifest.json
next to the docs, and dbt_project/target/manifest.json is the one the Dagster code location loads.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from hashiramart_assets.settings import Settings

DBT_TIMEOUT_S = 900


def docs_dir(settings: Settings) -> Path:
    """Where the site (index.html, manifest.json, catalog.json) and dbt's logs of it go."""
    return settings.home / "dbt_docs"


def run_dbt(settings: Settings, args: Sequence[str], *, connect: bool = True) -> subprocess.CompletedProcess:
    """Run this environment's dbt on the project with target and log paths in :func:`docs_dir`.

    ``connect``: export the warehouse's connection (starting the embedded Postgres when no URL is set);
    without it profiles.yml renders with its defaults, enough for commands that open no connection.
    Raises RuntimeError with the tail of dbt's output when dbt fails.
    """
    from hashiramart_assets.assets.marts import DBT_EXECUTABLE, DBT_PROJECT_DIR, dbt_env
    from hashiramart_assets.services.postgres import postgres_url

    target = docs_dir(settings)
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    if connect:
        env.update(dbt_env(postgres_url(settings)))
    command = [DBT_EXECUTABLE, *args, "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
               "--target-path", str(target), "--log-path", str(target / "logs")]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=DBT_TIMEOUT_S, check=False)
    if result.returncode != 0:
        output = (result.stdout[-3000:] + result.stderr[-2000:]).strip()
        raise RuntimeError(f"`dbt {' '.join(args)}` failed (exit {result.returncode}):\n{output}")
    return result


def generate_dbt_docs(settings: Settings) -> Path:
    """``dbt docs generate`` against the warehouse; returns the site's index.html.

    Also writes static_index.html, one self-contained file that opens from disk without a server.
    """
    run_dbt(settings, ["docs", "generate", "--static"])
    index = docs_dir(settings) / "index.html"
    if not index.exists():
        raise RuntimeError(f"dbt docs generate succeeded but wrote no {index}")
    return index


def serve_dbt_docs(settings: Settings, port: int, host: str = "127.0.0.1") -> None:
    """``dbt docs serve`` of the generated site until interrupted (Ctrl-C); needs no database connection."""
    from hashiramart_assets.assets.marts import DBT_EXECUTABLE, DBT_PROJECT_DIR

    target = docs_dir(settings)
    if not (target / "index.html").exists():
        raise RuntimeError(f"no dbt docs in {target}: generate them first")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    command = [DBT_EXECUTABLE, "docs", "serve", "--port", str(port), "--host", host, "--no-browser",
               "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
               "--target-path", str(target), "--log-path", str(target / "logs")]
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends dbt's server too: a clean stop
        subprocess.run(command, env=env, check=False)
