"""The retraining loop without the daemon: one in-process tick of ``retrain_on_degradation`` and its runs.

Under ``hashiramart ui`` / the demo the Dagster daemon ticks the sensor; ``hashiramart simulate-drift
--materialize``, scripts and tests use this to run the very same sensor against the same instance. The
cursor lives in the instance's key-value store, so consecutive ticks remember what they handled.
"""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg

SENSOR = "retrain_on_degradation"
CURSOR_KEY = "hashiramart/retrain_on_degradation/cursor"


@dataclass(frozen=True)
class TickOutcome:
    requests: list[dg.RunRequest]
    skip_reason: str | None
    run_ids: list[str]
    runs_succeeded: bool


def tick_retrain_sensor(defs: dg.Definitions, instance: dg.DagsterInstance, execute: bool = True) -> TickOutcome:
    """Evaluate the sensor once; with ``execute``, run each requested retrain in-process on ``instance``."""
    sensor = defs.resolve_sensor_def(SENSOR)
    cursor = instance.run_storage.get_cursor_values({CURSOR_KEY}).get(CURSOR_KEY)
    with dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs) as context:
        result = sensor.evaluate_tick(context)
    if result.cursor is not None:
        instance.run_storage.set_cursor_values({CURSOR_KEY: result.cursor})
    requests = list(result.run_requests or [])
    run_ids, ok = [], True
    if execute:
        for request in requests:
            assert request.job_name is not None  # the sensor names the retrain job of every request
            job = defs.resolve_job_def(request.job_name)
            outcome = job.execute_in_process(instance=instance, tags=request.tags, raise_on_error=False)
            run_ids.append(outcome.run_id)
            ok = ok and outcome.success
    return TickOutcome(requests, result.skip_message, run_ids, ok)
