"""Admin: run an online experiment (challenger share, shadow mode), read its analysis, read the alias audit.

The same operations as ``hashiramart experiments`` / ``hashiramart models history``, over HTTP: the
setting is stored in Postgres, so every API worker picks it up at its next poll (this one at once).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from mlflow.tracking import MlflowClient

from hashiramart_assets.experiments import audit, store
from hashiramart_assets.experiments.conclude import analyse_active
from hashiramart_assets.experiments.store import Experiment, ExperimentError
from hashiramart_assets.ml import registry
from serving.auth import AdminUser
from serving.schemas import AliasMoveOut, ExperimentOut, ExperimentSet
from serving.state import AppState, get_state

router = APIRouter(tags=["experiments"])
State = Annotated[AppState, Depends(get_state)]
# Only the recommender has online feedback (clicks on what it showed) to compare variants by.
ExperimentModel = Literal["hashiramart-recommender"]
RegisteredModel = Literal["hashiramart-recommender", "hashiramart-sales-forecaster"]
_ADMIN: dict[int | str, dict[str, Any]] = {
    401: {"description": "not authenticated"},
    403: {"description": "admin role required"},
}


def _out(state: AppState, experiment: Experiment) -> ExperimentOut:
    live = state.experiments.current
    return ExperimentOut(**asdict(experiment), serving=live is not None and live.experiment.id == experiment.id)


def _set(state: AppState, model: str, body: ExperimentSet, actor: str) -> tuple[Experiment | None, str]:
    client = MlflowClient(state.settings.mlflow_tracking_uri)
    champion = registry.champion(client, model)
    version = body.challenger_version
    if body.challenger_share > 0:
        with state.db.engine.connect() as conn:
            running = store.active_one(conn, model)
        if version is None and running is None:
            alias = registry.challenger(client, model)
            if alias is None:
                raise ExperimentError(f"{model} has no @challenger version: train one or give challenger_version")
            version = str(alias.version)
        if version is not None:
            try:
                client.get_model_version(model, version)
            except Exception as exc:
                raise LookupError(f"{model} has no version {version!r}") from exc
    experiment = store.set_experiment(
        state.db.engine, model, body.challenger_share, version, str(champion.version) if champion else None, actor,
        shadow=body.shadow, reason=body.reason or f"share set to 0 by {actor}")
    state.experiments.refresh()
    if experiment is None:
        return None, f"no experiment of {model} is running"
    live = state.experiments.current
    if live is None or live.id != experiment.id:
        return experiment, f"{experiment.describe()}; not serving yet: {state.experiments.last_error or 'loading'}"
    return experiment, experiment.describe()


@router.get("/admin/experiments", response_model=list[ExperimentOut], responses=_ADMIN)
def list_experiments(_admin: AdminUser, state: State) -> list[ExperimentOut]:
    """Running experiments."""
    with state.db.engine.connect() as conn:
        return [_out(state, e) for e in store.active(conn)]


@router.put("/admin/experiments/{model}", responses={**_ADMIN, 404: {"description": "no such version"},
                                                      409: {"description": "no challenger to try"}})
async def set_experiment(model: ExperimentModel, body: ExperimentSet, admin: AdminUser, state: State) -> dict:
    """Start or change the experiment of ``model`` (share 0 ends it); picked up by every worker at its next poll."""
    try:
        experiment, message = await run_in_threadpool(_set, state, model, body, f"api:{admin.username}")
    except ExperimentError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    return {"experiment": _out(state, experiment).model_dump(mode="json") if experiment else None,
            "message": message}


@router.get("/admin/experiments/{model}/results", responses={**_ADMIN, 404: {"description": "no experiment"}})
def experiment_results(model: ExperimentModel, _admin: AdminUser, state: State) -> dict:
    """Impressions, clicks, CTR and purchases per impression per variant, the two-proportion test, the verdict."""
    state.impressions.flush()
    analysis = analyse_active(state.db.engine, MlflowClient(state.settings.mlflow_tracking_uri), model,
                              state.settings.experiment_rules())
    if analysis is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no experiment of {model} is running")
    return analysis.as_dict()


@router.get("/admin/models/{model}/history", response_model=list[AliasMoveOut], responses=_ADMIN)
def alias_history(model: RegisteredModel, _admin: AdminUser, state: State) -> list[AliasMoveOut]:
    """Every audited move of the model's aliases, oldest first."""
    return [AliasMoveOut(**{k: v for k, v in asdict(row).items() if k != "id"})
            for row in audit.history(state.db.engine, model)]
