"""The served models: the registry's champions, loaded at start, polled, swapped atomically.

How a swap stays safe: a loaded version is an immutable handle; a request reads the handle once and
uses only it, so a request in flight finishes on the version it started with. Loading happens off the
request path (start-up, the poll thread, POST /admin/reload-models); the new handle replaces the old
with one attribute assignment. If the registry or the database fails, the last good handle stays and
the failure is kept for /ready.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from hashiramart_assets.ml import registry
from serving.forecasts import ForecastTable, compute_forecast_table
from serving.recommend import FastRecommender

log = logging.getLogger("hashiramart.serving.models")


@dataclass(frozen=True)
class RecommenderHandle:
    version: str
    run_id: str
    loaded_at: float
    scorer: FastRecommender


@dataclass(frozen=True)
class ForecasterHandle:
    version: str
    run_id: str
    loaded_at: float
    forecaster: object  # SalesForecaster
    table: ForecastTable | None  # None while the sales history cannot be read
    table_error: str | None = None


@dataclass
class ModelStatus:
    """What /ready and /metrics report for one registered model."""

    name: str
    champion_version: str | None = None  # what the registry said last time it answered
    last_check_at: float | None = None
    last_check_ok: bool = False
    last_error: str | None = None
    reloads: dict[str, int] = field(default_factory=lambda: {"success": 0, "failure": 0})


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]


class ModelStore:
    """Loads ``models:/<name>@champion`` for the recommender and the forecaster and keeps them fresh."""

    def __init__(
        self,
        tracking_uri: str,
        poll_seconds: float,
        sales_history: Callable[[], pd.DataFrame],
        on_poll: Callable[[], None] | None = None,
    ) -> None:
        self.tracking_uri = tracking_uri
        self._on_poll = on_poll
        self.poll_seconds = poll_seconds
        self._sales_history = sales_history
        self.recommender: RecommenderHandle | None = None
        self.forecaster: ForecasterHandle | None = None
        self.status = {name: ModelStatus(name) for name in registry.MODEL_NAMES}
        self._refresh_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Load what the registry has now, then poll in a daemon thread (if poll_seconds > 0)."""
        self.refresh()
        if self.poll_seconds > 0:
            self._stop.clear()
            self._thread = threading.Thread(target=self._poll, name="model-store-poll", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                if self._on_poll is not None:
                    self._on_poll()  # e.g. connect and migrate a database that was down at start
                self.refresh()
            except Exception:  # the poller must survive anything; refresh already records errors
                log.exception("model poll failed")

    # -- loading ---------------------------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> dict[str, str]:
        """Check both aliases; load a version that moved (or every champion with ``force``). name -> outcome."""
        with self._refresh_lock:
            client = MlflowClient(self.tracking_uri)
            return {
                registry.RECOMMENDER: self._refresh_one(client, registry.RECOMMENDER, force),
                registry.FORECASTER: self._refresh_one(client, registry.FORECASTER, force),
            }

    def _current(self, name: str) -> RecommenderHandle | ForecasterHandle | None:
        return self.recommender if name == registry.RECOMMENDER else self.forecaster

    def _refresh_one(self, client: MlflowClient, name: str, force: bool) -> str:
        status = self.status[name]
        status.last_check_at = time.time()
        try:
            champion = client.get_model_version_by_alias(name, registry.CHAMPION)
        except MlflowException as exc:
            if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                status.last_check_ok, status.champion_version = True, None
                status.last_error = f"no '{registry.CHAMPION}' version of {name} in the registry yet"
                return "no champion"
            return self._failed(status, exc, "registry unreachable")
        except Exception as exc:  # connection refused, timeouts, broken stores: keep serving the last good
            return self._failed(status, exc, "registry unreachable")
        status.champion_version = str(champion.version)
        current = self._current(name)
        needs_table = isinstance(current, ForecasterHandle) and current.table is None
        if current is not None and current.version == str(champion.version) and not force and not needs_table:
            status.last_check_ok, status.last_error = True, None
            return "unchanged"
        try:
            assert champion.run_id is not None  # train_* registers every version from its run
            if name == registry.RECOMMENDER:
                self.recommender = self._load_recommender(champion.version, champion.run_id)
            else:
                handle = self._load_forecaster(champion.version, champion.run_id)
                if handle.table is None:
                    status.reloads["failure"] += 1
                    status.last_check_ok, status.last_error = True, handle.table_error
                    if isinstance(current, ForecasterHandle) and current.table is not None:
                        return f"kept v{current.version}: {handle.table_error}"  # last good keeps serving
                    self.forecaster = handle  # better than nothing: /ready shows the model, forecasts 503
                    return f"loaded v{champion.version} without forecasts"
                self.forecaster = handle
        except Exception as exc:  # a version that fails to load never replaces a working one
            return self._failed(status, exc, f"loading v{champion.version} failed")
        status.reloads["success"] += 1
        status.last_check_ok, status.last_error = True, None
        log.info("%s: serving v%s", name, champion.version)
        return f"loaded v{champion.version}"

    def _failed(self, status: ModelStatus, exc: BaseException, what: str) -> str:
        status.last_check_ok = False
        status.last_error = f"{what}: {_short(exc)}"
        status.reloads["failure"] += 1
        log.warning("%s: %s", status.name, status.last_error)
        return status.last_error

    def load_recommender_version(self, version: str) -> RecommenderHandle:
        """Any version of the recommender by number (an experiment's challenger); the champion's handle if it is
        that version, so both variants of an experiment never hold two copies of one model."""
        current = self.recommender
        if current is not None and current.version == str(version):
            return current
        mv = MlflowClient(self.tracking_uri).get_model_version(registry.RECOMMENDER, str(version))
        assert mv.run_id is not None  # train_* registers every version from its run
        return self._load_recommender(str(mv.version), mv.run_id)

    def _load_recommender(self, version: str, run_id: str) -> RecommenderHandle:
        import mlflow

        # The version's own source, resolved by a client of *this* registry: a "models:/" URI would be resolved
        # against MLflow's process-wide default registry, which is not ours unless MLFLOW_TRACKING_URI is set.
        source = MlflowClient(self.tracking_uri, registry_uri=self.tracking_uri).get_model_version_download_uri(
            registry.RECOMMENDER, str(version))
        with tempfile.TemporaryDirectory(prefix="hm-serving-") as tmp:
            local = mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=tmp,
                                                        tracking_uri=self.tracking_uri)
            model = mlflow.pyfunc.load_model(local).unwrap_python_model().model
        return RecommenderHandle(str(version), run_id, time.time(), FastRecommender(model))

    def _load_forecaster(self, version: str, run_id: str) -> ForecasterHandle:
        from hashiramart_assets.ml.forecast.pyfunc import load_version_forecaster

        # As for the recommender: the version's own source, from a client of this registry. A pyfunc version is
        # loaded and unwrapped; one registered with the LightGBM flavour (before the pyfunc) falls back to its
        # run's forecaster/ artifacts.
        source = MlflowClient(self.tracking_uri, registry_uri=self.tracking_uri).get_model_version_download_uri(
            registry.FORECASTER, str(version))
        forecaster = load_version_forecaster(source, run_id, tracking_uri=self.tracking_uri)
        now = time.time()
        try:
            table = compute_forecast_table(forecaster, self._sales_history(), now)
        except Exception as exc:  # no mart yet / database down: the model is loaded, forecasts come later
            return ForecasterHandle(str(version), run_id, now, forecaster, None,
                                    f"no forecasts: sales history unavailable ({_short(exc)})")
        return ForecasterHandle(str(version), run_id, now, forecaster, table)
