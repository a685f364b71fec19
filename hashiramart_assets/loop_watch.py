"""What the platform does on its own, printed to the terminal of `hashiramart demo` / `ui`.

Why: under the daemon, landing, monitoring, retraining and promotion happen with nobody clicking; a user
watching the terminal should see each step and its reason without opening the UI. The watcher only
reads what the platform records anyway: runs and their tags (Dagster instance), check evaluations,
the champion aliases (MLflow registry) and the versions the API serves (/ready).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dagster as dg

from hashiramart_assets.automation import LANDING_REASON_TAG, LANDING_TAG
from hashiramart_assets.monitoring.retrain_policy import REASON_TAG, RETRAIN_TAG

Say = Callable[[str], None]
SENSOR_TAG = "dagster/sensor_name"
AUTOMATION_TAG = "dagster/from_automation_condition"
AUTOMATION_SENSOR = "hashiramart_automation"
REASON_SHOWN = 200  # characters of a reason on the terminal; the run tag keeps 250, the UI shows it whole
FINISHED = {dg.DagsterRunStatus.SUCCESS: "succeeded", dg.DagsterRunStatus.FAILURE: "FAILED",
            dg.DagsterRunStatus.CANCELED: "was canceled"}


def run_reason(tags: dict[str, str]) -> str:
    """Who asked for a run and why, from its tags."""
    if tags.get(LANDING_TAG):
        return f"land_new_days: {tags.get(LANDING_REASON_TAG, tags[LANDING_TAG])}"
    if tags.get(RETRAIN_TAG):
        return f"retrain_on_degradation: {tags.get(REASON_TAG, 'failed checks')}"
    if tags.get(SENSOR_TAG) == AUTOMATION_SENSOR:
        return "automation: a model changed, its batch outputs and monitors follow it"
    if tags.get(SENSOR_TAG):
        return f"sensor {tags[SENSOR_TAG]}"
    if tags.get(AUTOMATION_TAG):
        return "automation: a model its assets follow changed"
    return "launched by hand"


@dataclass
class LoopWatcher:
    """Poll (every few seconds) and print what changed since the last poll."""

    instance: dg.DagsterInstance
    say: Say
    champion_versions: Callable[[], dict[str, str | None]] | None = None  # registered model -> champion version
    served_versions: Callable[[], dict[str, str | None]] | None = None  # registered model -> version the API serves
    since: datetime = field(default_factory=lambda: datetime.now(UTC))
    _status: dict[str, dg.DagsterRunStatus] = field(default_factory=dict)
    _champions: dict[str, str | None] | None = None
    _served: dict[str, str | None] | None = None

    def poll(self) -> None:
        self._runs()
        self._champions = self._versions(self.champion_versions, self._champions, "champion {name}: v{old} -> v{new}")
        self._served = self._versions(self.served_versions, self._served, "API now serves {name} v{new} (was v{old})")

    def _runs(self) -> None:
        records = self.instance.get_run_records(dg.RunsFilter(created_after=self.since), ascending=True)
        for record in records:
            run = record.dagster_run
            previous = self._status.get(run.run_id)
            if previous == run.status:
                continue
            self._status[run.run_id] = run.status
            name = f"{run.job_name} [{run.run_id[:8]}]"
            if previous is None:
                reason = run_reason(dict(run.tags))
                self.say(f"requested {name}: {reason if len(reason) <= REASON_SHOWN else reason[:REASON_SHOWN] + ' …'}")
            if run.status == dg.DagsterRunStatus.STARTED and previous != dg.DagsterRunStatus.STARTED:
                self.say(f"started {name}")
            if run.status in FINISHED:
                took = (record.end_time - record.start_time) if record.end_time and record.start_time else None
                self.say(f"{FINISHED[run.status]}: {name}" + (f" in {took:.0f} s" if took is not None else ""))
                for line in failed_checks_of_run(self.instance, run.run_id):
                    self.say(f"  check failed: {line}")

    def _versions(self, read: Callable[[], dict[str, str | None]] | None, last: dict[str, str | None] | None,
                  template: str) -> dict[str, str | None] | None:
        if read is None:
            return last
        try:
            current = read()
        except Exception:  # a registry or API that does not answer this time is retried at the next poll
            return last
        if last is not None:
            for name, version in current.items():
                if version is not None and last.get(name) not in (None, version):
                    self.say(template.format(name=name, old=last.get(name), new=version))
        return {**(last or {}), **{k: v for k, v in current.items() if v is not None}}


def failed_checks_of_run(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """ERROR checks that failed in this run, as "asset:check: description"."""
    lines = []
    with contextlib.suppress(Exception):
        records = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, limit=500).records
        for record in records:
            evaluation = record.event_log_entry.asset_check_evaluation
            if evaluation is None:
                continue
            if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR:
                key = evaluation.asset_check_key
                lines.append(f"{key.asset_key.to_user_string()}:{key.name}: {evaluation.description or ''}"[:300])
    return lines
