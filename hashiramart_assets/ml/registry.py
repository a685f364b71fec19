"""The MLflow model registry as HashiraMart uses it: aliases ``champion`` and ``challenger``, never stages.

Every alias move is recorded on the model version as tags (who became champion, when, why, and which
version it replaced), so ``rollback`` knows where to go back to. Every move is also handed to the
listener of the current context (``recording_alias_moves``): the CLI, the Dagster assets and the
experiment sensor install one that writes the audit table (experiments/audit.py), so this module needs
no database and its callers need not thread an audit object through every training function.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

RECOMMENDER = "hashiramart-recommender"
FORECASTER = "hashiramart-sales-forecaster"
MODEL_NAMES = (RECOMMENDER, FORECASTER)
CHAMPION = "champion"
CHALLENGER = "challenger"
HEADLINE_METRICS = {RECOMMENDER: "ndcg_at_10", FORECASTER: "wape"}


class RegistryError(ValueError):
    """A registry request that cannot be done (unknown model, version, nothing to roll back to)."""


@dataclass(frozen=True)
class AliasMove:
    """One alias moved: ``from_version`` None = the alias was new, ``to_version`` None = it was removed."""

    name: str
    alias: str
    from_version: str | None
    to_version: str | None
    reason: str


_listener: ContextVar[Callable[[AliasMove], None] | None] = ContextVar("alias_move_listener", default=None)


@contextmanager
def recording_alias_moves(listener: Callable[[AliasMove], None]) -> Iterator[None]:
    """Hand every alias move made inside the block to ``listener`` (e.g. the audit table's writer)."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)


def _moved(name: str, alias: str, before: ModelVersion | None, after: str | None, reason: str) -> None:
    listener = _listener.get()
    came_from = str(before.version) if before is not None else None
    if listener is not None and came_from != after:
        listener(AliasMove(name, alias, came_from, after, reason))


@dataclass(frozen=True)
class VersionSummary:
    """One row of ``hashiramart models list``."""

    name: str
    version: str
    aliases: tuple[str, ...]
    run_id: str
    headline_metric: str
    headline_value: float | None
    created: str
    decision: str


def _version_or_none(client: MlflowClient, name: str, alias: str) -> ModelVersion | None:
    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def champion(client: MlflowClient, name: str) -> ModelVersion | None:
    return _version_or_none(client, name, CHAMPION)


def _require_version(client: MlflowClient, name: str, version: str) -> ModelVersion:
    try:
        return client.get_model_version(name, str(version))
    except MlflowException as exc:
        raise RegistryError(f"model {name!r} has no version {version!r}") from exc


def challenger(client: MlflowClient, name: str) -> ModelVersion | None:
    return _version_or_none(client, name, CHALLENGER)


def mark_challenger(client: MlflowClient, name: str, version: str,
                    reason: str = "newly trained, judged against the champion") -> None:
    before = challenger(client, name)
    client.set_registered_model_alias(name, CHALLENGER, str(version))
    _moved(name, CHALLENGER, before, str(version), reason)


def retire_challenger(client: MlflowClient, name: str, reason: str) -> ModelVersion:
    """Remove the ``challenger`` alias (e.g. it lost its online experiment); the version is tagged ``retired``."""
    current = challenger(client, name)
    if current is None:
        raise RegistryError(f"model {name!r} has no challenger to retire")
    client.delete_registered_model_alias(name, CHALLENGER)
    client.set_model_version_tag(name, str(current.version), "retired_reason", reason)
    _moved(name, CHALLENGER, current, None, reason)
    return current


def promote(client: MlflowClient, name: str, version: str, reason: str) -> ModelVersion:
    """Point ``champion`` at ``version``; remember the version it replaces (for rollback)."""
    target = _require_version(client, name, version)
    previous = champion(client, name)
    if previous is not None and str(previous.version) == str(target.version):
        return target
    client.set_registered_model_alias(name, CHAMPION, str(target.version))
    version = str(target.version)
    client.set_model_version_tag(name, version, "previous_champion", str(previous.version) if previous else "")
    client.set_model_version_tag(name, version, "promoted_at", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    client.set_model_version_tag(name, version, "promotion_reason", reason)
    _moved(name, CHAMPION, previous, version, reason)
    current_challenger = challenger(client, name)
    if current_challenger is not None and str(current_challenger.version) == version:
        client.delete_registered_model_alias(name, CHALLENGER)
        _moved(name, CHALLENGER, current_challenger, None, f"became champion: {reason}")
    return _require_version(client, name, version)


def rollback(client: MlflowClient, name: str, version: str | None = None) -> ModelVersion:
    """Back to ``version``, or to the version the current champion replaced."""
    current = champion(client, name)
    if version is None:
        if current is None:
            raise RegistryError(f"model {name!r} has no champion to roll back from")
        version = current.tags.get("previous_champion") or ""
        if not version:
            raise RegistryError(f"{name} v{current.version} replaced no earlier champion: give a VERSION")
    came_from = f"v{current.version}" if current else "no champion"
    return promote(client, name, version, f"rollback from {came_from} by hand")


def list_versions(client: MlflowClient, name: str) -> list[VersionSummary]:
    """Every version of ``name``, newest first, with its aliases and headline metric."""
    try:
        model = client.get_registered_model(name)
    except MlflowException as exc:
        raise RegistryError(f"no registered model {name!r} (known: {', '.join(MODEL_NAMES)})") from exc
    metric = HEADLINE_METRICS.get(name, "")
    aliases_of: dict[str, list[str]] = {}
    for alias, version in (model.aliases or {}).items():  # search results carry no aliases
        aliases_of.setdefault(str(version), []).append(alias)
    rows = []
    for mv in client.search_model_versions(f"name = '{name}'"):
        value = None
        if mv.run_id and metric:
            value = client.get_run(mv.run_id).data.metrics.get(metric)
        rows.append(VersionSummary(
            name=name, version=str(mv.version), aliases=tuple(sorted(aliases_of.get(str(mv.version), []))),
            run_id=mv.run_id or "",
            headline_metric=metric, headline_value=value,
            created=time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(mv.creation_timestamp / 1000)),
            decision=mv.tags.get("promotion_decision", ""),
        ))
    return sorted(rows, key=lambda r: int(r.version), reverse=True)
