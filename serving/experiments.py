"""The running experiment as each API worker sees it: read from Postgres, its challenger loaded, swapped atomically.

Every worker polls ``app.experiments`` (every HASHIRAMART_EXPERIMENT_POLL_SECONDS), so a share set by
the CLI, the admin endpoint of another worker or the conclude sensor reaches all of them without a
restart. A request reads ``current`` once (an immutable snapshot holding the challenger's loaded
handle), like the model store's champion handle. Until the challenger version is loaded the snapshot
is not published: nobody is routed to a model that is not there.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from hashiramart_assets.experiments import store
from hashiramart_assets.experiments.store import Experiment
from hashiramart_assets.ml import registry
from serving.db import Database
from serving.model_store import ModelStore, RecommenderHandle

log = logging.getLogger("hashiramart.serving.experiments")


@dataclass(frozen=True)
class LiveExperiment:
    experiment: Experiment
    challenger: RecommenderHandle

    @property
    def id(self) -> int:
        return self.experiment.id

    @property
    def share(self) -> float:
        return self.experiment.challenger_share

    @property
    def shadow(self) -> bool:
        return self.experiment.shadow


class Experiments:
    """The recommender's running experiment (the only model with online feedback)."""

    model_name = registry.RECOMMENDER

    def __init__(self, db: Database, models: ModelStore, poll_seconds: float) -> None:
        self.db = db
        self.models = models
        self.poll_seconds = poll_seconds
        self.current: LiveExperiment | None = None
        self.last_error: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self) -> LiveExperiment | None:
        """Re-read the experiment; load its challenger if it changed. Errors keep the last snapshot."""
        with self._lock:
            try:
                with self.db.engine.connect() as conn:
                    experiment = store.active_one(conn, self.model_name)
            except Exception as exc:  # database down: keep routing as before, report on /ready
                self.last_error = f"experiments unreadable: {type(exc).__name__}: {exc}".splitlines()[0][:300]
                return self.current
            if experiment is None:
                ended, self.current, self.last_error = self.current, None, None
                if ended is not None:
                    # it may have ended by promoting its challenger: check the champion alias now rather than at
                    # the next model poll, so its customers do not see the old champion meanwhile
                    self.models.refresh()
                return None
            before = self.current
            if before is not None and before.challenger.version == experiment.challenger_version:
                handle = before.challenger
            else:
                try:
                    handle = self.models.load_recommender_version(experiment.challenger_version)
                except Exception as exc:  # a challenger that cannot load: everyone gets the champion
                    self.current = None
                    self.last_error = (f"experiment {experiment.id}: challenger v{experiment.challenger_version} "
                                       f"failed to load: {type(exc).__name__}: {exc}").splitlines()[0][:300]
                    log.warning(self.last_error)
                    return None
            self.current, self.last_error = LiveExperiment(experiment, handle), None
            if before is None or before.experiment != experiment:
                log.info("%s", experiment.describe())
            return self.current

    def start(self) -> None:
        self.refresh()
        if self.poll_seconds > 0 and self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._poll, name="experiment-poll", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.refresh()
            except Exception:  # the poller must survive anything
                log.exception("experiment poll failed")
