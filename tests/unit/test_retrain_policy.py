"""The retraining sensor's decision: once per failure, per model, with a cooldown, never while running."""

from __future__ import annotations

from hashiramart_assets.monitoring.retrain_policy import FailedCheck, plan_retrains

DRIFT = FailedCheck("monitoring/feature_drift:unseen_categories", 10, "new category 'Kaiju'")
WAPE = FailedCheck("monitoring/forecast_accuracy:wape_degradation", 11, "WAPE 0.9 > 0.6")


def test_drift_retrains_both_models_and_each_failure_only_once():
    plan = plan_retrains([DRIFT], {}, now=1000.0, cooldown_s=60, in_progress=set())
    assert [(r.model, r.job_name) for r in plan.requests] == [("forecaster", "retrain_forecaster"),
                                                              ("recommender", "retrain_recommender")]
    assert plan.requests[0].run_key == "retrain-forecaster-monitoring/feature_drift:unseen_categories@10"
    assert "Kaiju" in plan.requests[1].reason
    again = plan_retrains([DRIFT], plan.cursor, now=5000.0, cooldown_s=60, in_progress=set())
    assert again.requests == [] and again.skipped == []  # same evaluation record: already handled


def test_cooldown_and_running_retrains_hold_new_failures_back():
    first = plan_retrains([DRIFT], {}, now=1000.0, cooldown_s=600, in_progress=set())
    held = plan_retrains([WAPE], first.cursor, now=1100.0, cooldown_s=600, in_progress=set())
    assert held.requests == [] and "forecaster: in cooldown for 500 s more" in held.skipped[0]
    newer = FailedCheck(WAPE.check, 12, "WAPE 0.95")
    later = plan_retrains([newer], held.cursor, now=1700.0, cooldown_s=600, in_progress={"forecaster"})
    assert later.requests == [] and "already queued or running" in later.skipped[0]
    newest = FailedCheck(WAPE.check, 13, "WAPE 0.97")
    done = plan_retrains([newest], later.cursor, now=1800.0, cooldown_s=600, in_progress=set())
    assert [r.model for r in done.requests] == ["forecaster"]


def test_unwatched_checks_are_ignored():
    other = FailedCheck("raw/orders:volume", 3, "truncated day")
    assert plan_retrains([other], {}, now=0.0, cooldown_s=0, in_progress=set()).requests == []


def test_a_model_check_that_a_retrain_would_fail_again_is_handled_without_a_retrain():
    """The demo's first forecaster on little data fails metrics_in_range: a retrain on the same data with the same
    settings fits the same model, and its cooldown would hold back the drift retrain that matters."""
    same = FailedCheck("models/sales_forecaster:metrics_in_range", 20, "wape = 1.10 is outside [0.0, 1.0]",
                       repeats_on_retrain=True)
    plan = plan_retrains([same], {}, now=1000.0, cooldown_s=3600, in_progress=set())
    assert plan.requests == [] and "a retrain would fit the same model" in plan.skipped[0]
    assert plan.cursor["handled"][same.check] == 20 and plan.cursor["last_request"] == {}
    drift = plan_retrains([same, DRIFT], plan.cursor, now=1010.0, cooldown_s=3600, in_progress=set())
    assert sorted(r.model for r in drift.requests) == ["forecaster", "recommender"]  # no cooldown was started
