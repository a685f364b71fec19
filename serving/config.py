"""Serving-specific reading of the platform settings: refuse unsafe production configs, find the database.

Why here and not in settings.py: settings.py only reads values; deciding that a value is unacceptable
for *serving* (the default JWT secret in production) belongs to the service that would be unsafe.
"""

from __future__ import annotations

import os

from hashiramart_assets.settings import ENVIRONMENTS, Settings


class UnsafeConfiguration(RuntimeError):
    """The service must not start with these settings."""


def check_serving_settings(settings: Settings) -> None:
    """Raise :class:`UnsafeConfiguration` for settings the API must not start with."""
    if settings.environment not in ENVIRONMENTS:
        raise UnsafeConfiguration(f"HASHIRAMART_ENV={settings.environment!r} is not one of {ENVIRONMENTS}")
    if settings.environment == "production":
        if settings.uses_default_jwt_secret:
            raise UnsafeConfiguration(
                "HASHIRAMART_ENV=production needs HASHIRAMART_JWT_SECRET: refusing to sign tokens with the "
                "built-in development secret"
            )
        if len(settings.jwt_secret) < 32:
            raise UnsafeConfiguration("HASHIRAMART_JWT_SECRET must be at least 32 characters in production")


def configure_mlflow_http() -> None:
    """Bound MLflow's HTTP retries: its default backoff (7 retries) would stall a poll for minutes.

    Only defaults: an operator's explicit MLFLOW_HTTP_REQUEST_* values win.
    """
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def database_url(settings: Settings) -> str:
    """The platform's Postgres (HASHIRAMART_POSTGRES_URL or the embedded server, started on demand).

    App data lives in schema ``app`` of the same database as the marts, so the monitoring assets read
    ``app.feedback`` and the forecasts read ``marts.daily_sales`` through one connection.
    """
    from hashiramart_assets.services.postgres import postgres_url

    return postgres_url(settings)
