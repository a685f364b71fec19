"""Which newly landed days the running platform should carry through the graph next: a pure decision.

The ``land_new_days`` sensor (automation.py) asks this at every tick. All new days go into one ranged
run (the partitioned assets' backfill policy is single-run), because every run pays a fixed cost
(a process that imports the code location, a Spark session, a dbt invocation) that dwarfs one day of
data. While a landing run is queued or running nothing new is requested: days that land meanwhile wait
for the next run, so two runs never write the same tables at once. Days after the partitions' last
day are reported, never silently dropped: they become partitions when the code location reloads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class LandingPlan:
    first: str | None  # first..last (inclusive) of the next ranged run; None: nothing to request
    last: str | None
    new_days: list[str]  # the landed days not in the raw layer yet, within the partitions
    beyond_partitions: list[str]  # landed days the current partitions do not cover yet
    skip_reason: str | None

    @property
    def reason(self) -> str:
        """Why the run is requested, in words (run tag, terminal, UI)."""
        if not self.new_days:
            return self.skip_reason or "nothing new"
        span = self.first if self.first == self.last else f"{self.first}..{self.last}"
        return f"{len(self.new_days)} newly landed day(s) {span} are not in the raw layer yet (or changed since)"

    @property
    def run_key(self) -> str:
        return f"land-{self.first}..{self.last}"


def plan_landing(
    landed: Iterable[str], materialized: Iterable[str], partition_keys: Iterable[str], run_in_progress: bool,
    relanded: Iterable[str] = (),
) -> LandingPlan:
    """The range of the next landing run: from the first to the last landed day not yet ingested.

    ``relanded``: ingested days whose landed file changed since (a re-import, a corrected export); they are
    ingested again like new days.

    Days in between that are already ingested are ingested again (idempotent: a day replaces itself),
    which keeps it one contiguous run instead of one run per gap.
    """
    valid = set(partition_keys)
    done = set(materialized) - set(relanded)
    landed = sorted(set(landed))
    last_partition = max(valid) if valid else None
    beyond = [d for d in landed if d not in valid and (last_partition is None or d > last_partition)]
    new = [d for d in landed if d in valid and d not in done]
    note = ""
    if beyond:
        note = (f"; {len(beyond)} landed day(s) {beyond[0]}..{beyond[-1]} lie after the partitions' last day "
                f"{last_partition}: they are picked up once the code location reloads")
    if not new:
        return LandingPlan(None, None, [], beyond, "no newly landed days" + note)
    if run_in_progress:
        return LandingPlan(None, None, new, beyond,
                           f"{len(new)} newly landed day(s) wait for the landing run in progress" + note)
    return LandingPlan(new[0], new[-1], new, beyond, None)
