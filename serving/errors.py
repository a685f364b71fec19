"""Exception handlers: every failure the service knows about maps to a 4xx/503 with a message.

Why central: routers raise domain errors (model not loaded, database down, Dagster unreachable) and
this module alone decides their HTTP form, so no path can leak a 500 for a known condition.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError

from serving.dagster_jobs import DagsterError, DagsterUnavailable, RunNotFound
from serving.db import DatabaseUnavailable

log = logging.getLogger("hashiramart.serving")


class ModelUnavailable(RuntimeError):
    """No model version (or no forecasts) loaded yet: 503 until the store has one."""


def _json(status: int, detail: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"detail": detail})


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ModelUnavailable)
    async def _model(_: Request, exc: ModelUnavailable) -> JSONResponse:
        return _json(503, str(exc))

    @app.exception_handler(DatabaseUnavailable)
    async def _db_down(_: Request, exc: DatabaseUnavailable) -> JSONResponse:
        return _json(503, f"database unavailable: {exc}")

    @app.exception_handler(OperationalError)
    async def _db_op(_: Request, exc: OperationalError) -> JSONResponse:
        return _json(503, f"database unavailable: {str(exc.orig).strip().splitlines()[0][:300]}")

    @app.exception_handler(IntegrityError)
    async def _conflict(_: Request, exc: IntegrityError) -> JSONResponse:
        return _json(409, f"conflicts with existing data: {str(exc.orig).strip().splitlines()[0][:300]}")

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        return _json(422, f"value rejected by the database: {str(exc.orig).strip().splitlines()[0][:300]}")

    @app.exception_handler(DagsterUnavailable)
    async def _dagster_down(_: Request, exc: DagsterUnavailable) -> JSONResponse:
        return _json(503, str(exc))

    @app.exception_handler(DagsterError)
    async def _dagster_refused(_: Request, exc: DagsterError) -> JSONResponse:
        return _json(502, str(exc))

    @app.exception_handler(RunNotFound)
    async def _no_run(_: Request, exc: RunNotFound) -> JSONResponse:
        return _json(404, str(exc))
