"""land_new_days' decision: one ranged run for all new days, nothing while a landing run is in progress."""

from __future__ import annotations

from hashiramart_assets.landing_runs import plan_landing

PARTITIONS = [f"2025-01-{d:02d}" for d in range(1, 11)]


def test_all_new_days_become_one_range_from_first_to_last():
    plan = plan_landing(PARTITIONS[:10], PARTITIONS[:6], PARTITIONS, run_in_progress=False)
    assert (plan.first, plan.last) == ("2025-01-07", "2025-01-10")
    assert plan.new_days == ["2025-01-07", "2025-01-08", "2025-01-09", "2025-01-10"]
    assert plan.reason == "4 newly landed day(s) 2025-01-07..2025-01-10 are not in the raw layer yet"
    assert plan.run_key == "land-2025-01-07..2025-01-10"


def test_a_gap_is_bridged_by_one_run_instead_of_one_run_per_gap():
    done = [d for d in PARTITIONS if d not in ("2025-01-03", "2025-01-08")]
    plan = plan_landing(PARTITIONS, done, PARTITIONS, run_in_progress=False)
    assert (plan.first, plan.last) == ("2025-01-03", "2025-01-08")
    assert plan.new_days == ["2025-01-03", "2025-01-08"]


def test_nothing_is_requested_while_a_landing_run_is_in_progress_and_the_days_are_not_lost():
    busy = plan_landing(PARTITIONS, PARTITIONS[:8], PARTITIONS, run_in_progress=True)
    assert busy.first is None and busy.new_days == ["2025-01-09", "2025-01-10"]
    assert "wait for the landing run in progress" in busy.skip_reason
    after = plan_landing(PARTITIONS, PARTITIONS[:8], PARTITIONS, run_in_progress=False)
    assert (after.first, after.last) == ("2025-01-09", "2025-01-10")


def test_days_after_the_partitions_are_reported_not_requested():
    landed = [*PARTITIONS, "2025-01-11", "2025-01-12"]
    plan = plan_landing(landed, PARTITIONS, PARTITIONS, run_in_progress=False)
    assert plan.first is None and plan.beyond_partitions == ["2025-01-11", "2025-01-12"]
    assert "2025-01-11..2025-01-12 lie after the partitions' last day 2025-01-10" in plan.skip_reason
    assert "reloads" in plan.skip_reason


def test_days_before_the_partitions_are_ignored_and_nothing_new_is_a_skip():
    plan = plan_landing(["2024-12-31", *PARTITIONS], PARTITIONS, PARTITIONS, run_in_progress=False)
    assert plan.first is None and plan.beyond_partitions == [] and plan.skip_reason == "no newly landed days"
