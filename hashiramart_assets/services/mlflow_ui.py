"""The MLflow UI on the platform's own tracking store and registry, plus the links assets carry into it.

Why: every model and monitoring asset records an MLflow run, a registered version or a drift report;
a user who clicks from the lineage in the Dagster UI should land on that run, version or report. The
demo starts this UI next to Dagster's (``hashiramart mlflow`` starts it alone) and the assets attach
``MetadataValue.url`` links built here.
"""

from __future__ import annotations

import sys
from urllib.parse import quote

from hashiramart_assets.settings import Settings


def mlflow_ui_command(settings: Settings, port: int, host: str = "127.0.0.1") -> list[str]:
    """`mlflow server` on the same store the assets write (SQLite under the home, or the configured URI).

    Artifacts are read where the runs recorded them (local paths or S3), so the server does not proxy
    them (``--no-serve-artifacts``); one worker is enough for one user and keeps memory low.
    """
    return [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", settings.mlflow_tracking_uri,
        "--default-artifact-root", settings.mlflow_artifact_root,
        "--no-serve-artifacts",
        "--host", host, "--port", str(port), "--workers", "1",
    ]


def run_url(ui_url: str, experiment_id: str, run_id: str) -> str:
    return f"{ui_url}/#/experiments/{experiment_id}/runs/{run_id}"


def artifact_url(ui_url: str, experiment_id: str, run_id: str, path: str) -> str:
    return f"{run_url(ui_url, experiment_id, run_id)}/artifacts/{quote(path)}"


def model_version_url(ui_url: str, name: str, version: str | int) -> str:
    return f"{ui_url}/#/models/{quote(name)}/versions/{version}"
