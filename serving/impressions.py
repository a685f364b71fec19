"""The API's own record of what it showed (``app.impressions``) and of shadow predictions, written in batches.

Why the API records impressions itself: feedback is attributed only to items it really showed that
customer, so a client cannot invent impressions (or clicks on items nobody showed) to move the CTR that
drives retraining and experiments. Why a background batch writer: one INSERT per answer would put a
database round trip on every /recommend; here a request appends a tuple to a deque (well under a
microsecond) and a thread writes everything pending every ``flush_seconds`` in one statement.
Shadow predictions are scored in that thread too, so shadow mode adds nothing to a request's latency.

What is lost on a crash: at most ``flush_seconds`` of impressions. What a database outage costs: the
pending rows are kept up to ``max_pending`` and written when it is back; beyond that the oldest are
dropped and counted (``dropped``, exported as a metric), never blocking a request.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from serving.db import Database
from serving.model_store import RecommenderHandle

log = logging.getLogger("hashiramart.serving.impressions")


@dataclass(frozen=True, slots=True)
class Shown:
    customer_id: int
    model_name: str
    experiment_id: int | None
    variant: str
    model_version: str
    product_ids: tuple[str, ...]
    at: float  # time.time() of the answer


@dataclass(frozen=True, slots=True)
class ShadowRequest:
    experiment_id: int
    customer_id: int
    k: int
    exclude_purchased: bool
    champion_version: str
    shown: tuple[str, ...]
    challenger: RecommenderHandle
    at: float


def _drain(queue: deque) -> list:
    return [queue.popleft() for _ in range(len(queue))]


class ImpressionLog:
    def __init__(self, db: Database, flush_seconds: float = 0.5, max_pending: int = 200_000,
                 on_shadow_scored: Callable[[int], None] | None = None) -> None:
        self.db = db
        self.flush_seconds = flush_seconds
        self.max_pending = max_pending
        self._on_shadow_scored = on_shadow_scored
        self._pending: deque[Shown] = deque()
        self._shadow: deque[ShadowRequest] = deque()
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0
        self.last_error: str | None = None

    # -- request path ----------------------------------------------------------------------------------------
    def record(self, shown: Shown) -> None:
        if len(self._pending) >= self.max_pending:
            self._pending.popleft()
            self.dropped += 1
        self._pending.append(shown)

    def record_shadow(self, request: ShadowRequest) -> None:
        if len(self._shadow) >= self.max_pending:
            self._shadow.popleft()
            self.dropped += 1
        self._shadow.append(request)

    @property
    def pending(self) -> int:
        return len(self._pending) + len(self._shadow)

    # -- writer ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None and self.flush_seconds > 0:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="impression-writer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_seconds):
            self.flush()

    def flush(self) -> int:
        """Write everything pending now (also called by /feedback, so its own impressions are visible)."""
        with self._flush_lock:
            shown, shadows = _drain(self._pending), _drain(self._shadow)
            if not shown and not shadows:
                return 0
            try:
                shadow_rows = self._score_shadows(shadows)
                self._write(shown, shadow_rows)
            except Exception as exc:  # database down or broken: keep the rows (bounded) for the next flush
                self.last_error = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
                log.warning("impressions not written (kept for the next flush): %s", self.last_error)
                self._pending.extendleft(reversed(shown[-self.max_pending:]))
                self._shadow.extendleft(reversed(shadows[-self.max_pending:]))
                return 0
            self.last_error = None
            self.written += len(shown)
            return len(shown)

    def _score_shadows(self, shadows: list[ShadowRequest]) -> list[tuple[Any, ...]]:
        rows = []
        for request in shadows:
            items, _ = request.challenger.scorer.recommend(request.customer_id, request.k, request.exclude_purchased)
            rows.append((request.experiment_id, request.customer_id, request.champion_version,
                         request.challenger.version, list(request.shown), [i.product_id for i in items],
                         datetime.fromtimestamp(request.at, UTC)))
        if rows and self._on_shadow_scored is not None:
            self._on_shadow_scored(len(rows))
        return rows

    def _write(self, shown: list[Shown], shadow_rows: list[tuple[Any, ...]]) -> None:
        from psycopg2.extras import execute_values

        with self.db.engine.begin() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None  # a connection inside begin() is checked out
            cursor = driver.cursor()  # psycopg2's: execute_values sends each page as one statement
            if shown:
                execute_values(
                    cursor,
                    "insert into app.impressions (customer_id, model_name, experiment_id, variant, model_version, "
                    "product_ids, ts) values %s",
                    [(s.customer_id, s.model_name, s.experiment_id, s.variant, s.model_version, list(s.product_ids),
                      datetime.fromtimestamp(s.at, UTC)) for s in shown],
                    page_size=2000,
                )
            if shadow_rows:
                execute_values(
                    cursor,
                    "insert into app.shadow_predictions (experiment_id, customer_id, champion_version, "
                    "challenger_version, shown, shadow, ts) values %s",
                    shadow_rows, page_size=2000,
                )
