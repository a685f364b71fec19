"""HashiraMart serving API (grows with issue 6): for now, liveness only."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI(title="HashiraMart API", version="0.1.0")


@app.get("/health")
def health() -> dict[str, str]:
    """Process is up; readiness (models, database) comes with the model store."""
    return {"status": "ok"}
