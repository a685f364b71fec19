"""land_new_days' decision: one ranged run for all new days, nothing while a landing run is in progress."""

from __future__ import annotations

from hashiramart_assets.landing_runs import plan_landing

PARTITIONS = [f"2025-01-{d:02d}" for d in range(1, 11)]


def test_all_new_days_become_one_range_from_first_to_last():
    plan = plan_landing(PARTITIONS[:10], PARTITIONS[:6], PARTITIONS, run_in_progress=False)
    assert (plan.first, plan.last) == ("2025-01-07", "2025-01-10")
    assert plan.new_days == ["2025-01-07", "2025-01-08", "2025-01-09", "2025-01-10"]
    assert plan.reason == "4 newly landed day(s) 2025-01-07..2025-01-10 are not in the raw layer yet (or changed since)"
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


def test_a_day_landed_again_after_it_was_ingested_is_ingested_again():
    plan = plan_landing(PARTITIONS, PARTITIONS, PARTITIONS, run_in_progress=False, relanded=["2025-01-04"])
    assert (plan.first, plan.last) == ("2025-01-04", "2025-01-04") and plan.new_days == ["2025-01-04"]


def test_relanded_days_compares_the_landed_file_with_the_raw_layers_ingest_record(tmp_path):
    import os

    from hashiramart_assets import landing
    from hashiramart_assets.automation import relanded_days
    from hashiramart_assets.lake import paths

    landing_dir, lake = tmp_path / "landing", str(tmp_path / "lake")
    for day, landed_at, ingested_at in (("2025-01-01", 1000, 2000), ("2025-01-02", 3000, 2000),
                                        ("2025-01-03", 3000, None)):
        file = landing.day_path(landing_dir, "orders", day)
        file.parent.mkdir(parents=True)
        file.write_bytes(b"x")
        os.utime(file, (landed_at, landed_at))
        if ingested_at is not None:
            status = paths.day_status_file(lake, "orders", day)
            os.makedirs(os.path.dirname(status), exist_ok=True)
            open(status, "w").close()
            os.utime(status, (ingested_at, ingested_at))
    # 01: ingested after it landed; 02: landed again after its ingest; 03: no ingest record (older homes): left
    assert relanded_days(landing_dir, lake, ["2025-01-01", "2025-01-02", "2025-01-03"]) == ["2025-01-02"]


def test_a_landing_run_refreshes_only_the_outputs_and_monitors_of_models_that_exist():
    from hashiramart_assets.automation import landing_selection

    assert landing_selection([]) == []  # before any training: the data layers only
    names = {key.to_user_string() for key in landing_selection(["recommender"])}
    assert names == {"models/recommendations", "monitoring/recommender_quality", "monitoring/feature_drift"}
    names = {key.to_user_string() for key in landing_selection(["recommender", "forecaster"])}
    assert {"models/sales_forecasts", "monitoring/forecast_accuracy"} <= names and len(names) == 5
