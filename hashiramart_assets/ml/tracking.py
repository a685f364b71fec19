"""MLflow plumbing shared by the model assets: the experiment, one child run per model, lineage tags.

Why child runs: dagster-mlflow's resource opens one MLflow run per Dagster run (tagged with the Dagster
run id). A run that trains both models would mix their metrics and artifacts in that one run, so each
model asset logs into its own nested run under it; the parent still ties them to the Dagster run.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import mlflow
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient

REPO_ROOT = Path(__file__).resolve().parents[2]


def is_local_store(tracking_uri: str) -> bool:
    """A SQLite (or file) store keeps artifacts where the experiment says: we choose the folder."""
    return tracking_uri.startswith(("sqlite:", "file:")) or "://" not in tracking_uri


def ensure_experiment(tracking_uri: str, name: str, artifact_root: str | None) -> str:
    """Create the experiment (with artifacts under HASHIRAMART_HOME for a local store); return its id.

    Without this, MLflow's client-side stores put artifacts in ``./mlruns`` of whatever folder the
    process happens to run in.
    """
    mlflow.set_tracking_uri(tracking_uri)
    client = MlflowClient(tracking_uri)
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if artifact_root and "://" in artifact_root:  # s3://bucket/..., file:///...: as given
        location = artifact_root
    elif artifact_root and is_local_store(tracking_uri):
        folder = Path(artifact_root).absolute()
        folder.mkdir(parents=True, exist_ok=True)
        location = folder.as_uri()
    try:
        return client.create_experiment(name, artifact_location=location)
    except mlflow.exceptions.MlflowException:  # created meanwhile by another process
        existing = client.get_experiment_by_name(name)
        if existing is None:  # not that race: the creation itself failed
            raise
        return existing.experiment_id


def git_commit() -> str:
    """The commit of the code that trains the model ("unknown" outside a git checkout)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = result.stdout.strip()
    if result.returncode != 0 or not commit:
        return "unknown"
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=10, check=False,
    ).stdout.strip()
    return f"{commit}-dirty" if dirty else commit


@contextmanager
def child_run(parent_run_id: str | None, run_name: str, tags: dict[str, str]) -> Iterator[mlflow.ActiveRun]:
    """A nested run under the Dagster run's MLflow run; both are ended afterwards, FAILED on error.

    Ending the parent too leaves no active run behind in the process, so a later Dagster run in the
    same process (tests, ``hashiramart materialize``) never adopts a stale run; the next model asset of
    the same Dagster run re-opens the parent by id.
    """
    active = mlflow.active_run()
    if parent_run_id and (active is None or active.info.run_id != parent_run_id):
        while mlflow.active_run() is not None:
            mlflow.end_run()
        mlflow.start_run(run_id=parent_run_id)
    child = mlflow.start_run(run_name=run_name, nested=parent_run_id is not None, tags=tags)
    status = RunStatus.to_string(RunStatus.FINISHED)
    try:
        yield child
    except BaseException:
        status = RunStatus.to_string(RunStatus.FAILED)
        raise
    finally:
        mlflow.end_run(status=status)
        if parent_run_id and mlflow.active_run() is not None:
            mlflow.end_run(status=status)
