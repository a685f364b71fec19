"""Admin operations: reload the models now, launch retraining in Dagster, follow a run."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.concurrency import run_in_threadpool

from serving.auth import AdminUser
from serving.dagster_jobs import TRAINING_ASSETS
from serving.routers.ops import readiness
from serving.schemas import JobLaunched, JobStatus
from serving.state import AppState, get_state

router = APIRouter(tags=["admin"])
State = Annotated[AppState, Depends(get_state)]
_ADMIN: dict[int | str, dict[str, Any]] = {
    401: {"description": "not authenticated"},
    403: {"description": "admin role required"},
}
_DAGSTER: dict[int | str, dict[str, Any]] = {
    503: {"description": "Dagster unreachable"},
    502: {"description": "Dagster refused"},
}


@router.post("/admin/reload-models", responses=_ADMIN)
async def reload_models(
    _admin: AdminUser, state: State,
    force: Annotated[bool, Query(description="reload even unchanged versions (recomputes forecasts)")] = False,
) -> dict:
    """Check the champion aliases now and load what moved; answers the outcome per model and readiness."""
    outcome = await run_in_threadpool(state.store.refresh, force)
    _, body = await run_in_threadpool(readiness, state)
    return {"outcome": outcome, "ready": body}


@router.post("/jobs/training/{model}", response_model=JobLaunched, status_code=status.HTTP_202_ACCEPTED,
             responses={**_ADMIN, **_DAGSTER})
async def launch_training(model: Literal["recommender", "forecaster"], admin: AdminUser, state: State) -> JobLaunched:
    """Materialise models/recommender or models/sales_forecaster in Dagster (through its GraphQL API)."""
    run = await run_in_threadpool(
        state.dagster.launch_assets, TRAINING_ASSETS[model], {"hashiramart/requested_by": admin.username}
    )
    return JobLaunched(run_id=run.run_id, status=run.status, model=model, job_name=run.job_name or "")


@router.get("/jobs/{run_id}", response_model=JobStatus,
            responses={**_ADMIN, **_DAGSTER, 404: {"description": "no run"}})
async def job_status(
    run_id: Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")], _admin: AdminUser,
    state: State,
) -> JobStatus:
    run = await run_in_threadpool(state.dagster.run_status, run_id)
    return JobStatus(run_id=run.run_id, status=run.status, job_name=run.job_name, start_time=run.start_time,
                     end_time=run.end_time)
