"""One terminal line per finished asset of an in-process run: ``[12/31] marts/daily_sales ✓ 8 s``.

Why: a run of the whole graph takes minutes; Dagster's console log is hundreds of lines (and dbt's own
output on top), yet a user wants to see that it moves, which step is slow and what failed. The lines
come from the run's structured Dagster events, read by a logger that the run is given.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

import dagster as dg

from hashiramart_assets.compat import dagster_event_of, run_id_of

Say = Callable[[str], None]


class RunProgress(logging.Handler):
    """Turns a run's step and asset events into progress lines; counts what it saw for the summary."""

    def __init__(self, say: Say, asset_keys: Iterable[dg.AssetKey], ui_url: str | None = None) -> None:
        super().__init__(level=logging.DEBUG)
        self.say = say
        self.expected = {key.to_user_string() for key in asset_keys}
        self.ui_url = ui_url
        self.done: list[str] = []
        self.failed_steps: list[str] = []
        self.failed_checks: list[str] = []
        self._step_started: dict[str, float] = {}
        self._run_started = time.monotonic()

    @property
    def total(self) -> int:
        return max(len(self.expected), len(self.done))

    def emit(self, record: logging.LogRecord) -> None:
        event = dagster_event_of(record)
        if event is None:
            return
        try:
            self._on_event(event, run_id_of(record))
        except Exception:  # a progress line must never fail a run
            self.handleError(record)

    def _on_event(self, event: dg.DagsterEvent, run_id: str | None = None) -> None:
        kind = event.event_type_value
        step = event.step_key or ""
        # RUN_START's value is still "PIPELINE_START"; the run id comes with the log record, not the event
        if kind == dg.DagsterEventType.RUN_START.value and self.ui_url and run_id:
            self.say(f"run {run_id[:8]}: {self.ui_url}/runs/{run_id}")
        elif kind == "STEP_START":
            self._step_started[step] = time.monotonic()
        elif kind == "ASSET_MATERIALIZATION" and event.asset_key is not None:
            key = event.asset_key.to_user_string()
            if key in self.done:
                return  # the other days of a ranged run
            self.done.append(key)
            took = time.monotonic() - self._step_started.get(step, self._run_started)
            self.say(f"[{len(self.done)}/{self.total}] {key} ✓ {took:.0f} s")
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.asset_check_evaluation_data
            passed = getattr(evaluation, "passed", True)
            severity = getattr(evaluation, "severity", dg.AssetCheckSeverity.ERROR)
            if not passed:
                name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                if name not in self.failed_checks:
                    self.failed_checks.append(name)
                    level = "check failed" if severity == dg.AssetCheckSeverity.ERROR else "check warned"
                    self.say(f"      {level}: {name}")
        elif kind == "STEP_FAILURE":
            self.failed_steps.append(step)
            error = getattr(event.event_specific_data, "error", None)
            while getattr(error, "cause", None) is not None:  # Dagster wraps the user code's error: show that
                error = error.cause  # type: ignore[union-attr]
            message = (getattr(error, "message", "") or "").strip().splitlines()
            self.say(f"      ✗ {step} failed: {message[0] if message else 'see the log'}")

    def summary(self) -> str:
        took = time.monotonic() - self._run_started
        parts = [f"{len(self.done)}/{self.total} assets in {took:.0f} s"]
        if self.failed_steps:
            parts.append(f"{len(self.failed_steps)} step(s) failed")
        if self.failed_checks:
            parts.append(f"{len(self.failed_checks)} check(s) failed")
        return ", ".join(parts)


def progress_logger(handler: RunProgress) -> dg.LoggerDefinition:
    """A Dagster logger that hands every record of the run to ``handler``."""

    @dg.logger
    def progress(_context: dg.InitLoggerContext) -> logging.Logger:
        logger = logging.Logger("hashiramart.progress", level=logging.DEBUG)
        logger.addHandler(handler)
        return logger

    return progress


def running_ui_url(port: int = 3000, host: str = "127.0.0.1") -> str | None:
    """The Dagster UI's address when a webserver answers there, so a run's line can link to it."""
    import httpx

    url = f"http://{host}:{port}"
    try:
        answer = httpx.get(f"{url}/server_info", timeout=0.5)
    except httpx.HTTPError:
        return None
    return url if answer.status_code == 200 and "dagster_webserver_version" in answer.text else None
