"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from hashiramart_assets.ml import registry
from serving.state import AppState, get_state

router = APIRouter(tags=["operations"])
State = Annotated[AppState, Depends(get_state)]


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up (no dependency is checked: that is /ready)."""
    return {"status": "ok"}


def readiness(state: AppState) -> tuple[int, dict[str, Any]]:
    """(HTTP status, body): 200 when both models serve and the database answers; 'degraded' notes problems."""
    db_ok, db_error = state.db.ping()
    store = state.store
    models: dict[str, Any] = {}
    for name, handle in ((registry.RECOMMENDER, store.recommender),
                         (registry.FORECASTER, store.forecaster)):
        status = store.status[name]
        entry: dict[str, Any] = {
            "loaded": handle is not None, "version": handle.version if handle else None,
            "run_id": handle.run_id if handle else None, "loaded_at": handle.loaded_at if handle else None,
            "registry_champion": status.champion_version, "registry_reachable": status.last_check_ok,
            "last_check_at": status.last_check_at, "error": status.last_error,
        }
        if name == registry.FORECASTER:
            entry["forecasts"] = bool(handle is not None and getattr(handle, "table", None) is not None)
        models[name] = entry
    serving = all(m["loaded"] for m in models.values()) and models[registry.FORECASTER]["forecasts"]
    problems = [f"{n}: {m['error']}" for n, m in models.items() if m["error"]]
    if not db_ok:
        problems.append(f"database: {db_error}")
    live, log = state.experiments.current, state.impressions
    experiment = {"running": live is not None, "id": live.id if live else None,
                  "mode": live.experiment.mode if live else None, "challenger_share": live.share if live else None,
                  "challenger_version": live.challenger.version if live else None,
                  "error": state.experiments.last_error}
    impressions = {"pending": log.pending, "written": log.written, "dropped": log.dropped, "error": log.last_error}
    problems += [f"{what}: {error}" for what, error in (("experiments", experiment["error"]),
                                                        ("impressions", impressions["error"])) if error]
    ready = serving and db_ok
    body = {"status": ("degraded" if problems else "ok") if ready else "not_ready",
            "database": {"reachable": db_ok, "error": db_error, "migrations": state.db.applied_migrations},
            "models": models, "experiment": experiment, "impressions": impressions, "problems": problems}
    return (200 if ready else 503), body


@router.get("/ready", responses={503: {"description": "a model or the database is missing"}})
async def ready(state: State) -> JSONResponse:
    """Which model versions serve, whether the registry and database answer; 503 until everything serves."""
    code, body = await run_in_threadpool(readiness, state)
    return JSONResponse(body, status_code=code)


@router.get("/metrics", response_class=Response)
async def metrics(state: State) -> Response:
    """Prometheus text format."""
    return Response(generate_latest(state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
