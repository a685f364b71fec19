"""When a failed check should retrain which model: the retraining sensor's decision, as a pure function.

Guards against retrain storms: each failed evaluation is handled once (its record id is remembered in
the cursor), a model is not requested again within the cooldown, and never while a retrain of it is
queued or running. Warnings and checks that could not run never count: only failed ERROR checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RECOMMENDER, FORECASTER = "recommender", "forecaster"
JOBS = {RECOMMENDER: "retrain_recommender", FORECASTER: "retrain_forecaster"}
RETRAIN_TAG = "hashiramart/retrain"
REASON_TAG = "hashiramart/retrain_reason"

# "asset/check" -> the models whose retraining answers that failure.
WATCHED: dict[str, tuple[str, ...]] = {
    "monitoring/feature_drift:drift_share": (RECOMMENDER, FORECASTER),
    "monitoring/feature_drift:max_psi": (RECOMMENDER, FORECASTER),
    "monitoring/feature_drift:unseen_categories": (RECOMMENDER, FORECASTER),
    "monitoring/recommender_quality:offline_quality": (RECOMMENDER,),
    "monitoring/recommender_quality:ctr_drop": (RECOMMENDER,),
    "monitoring/forecast_accuracy:wape_degradation": (FORECASTER,),
    "models/recommender:beats_baselines": (RECOMMENDER,),
    "models/recommender:metrics_in_range": (RECOMMENDER,),
    "models/sales_forecaster:beats_baselines": (FORECASTER,),
    "models/sales_forecaster:metrics_in_range": (FORECASTER,),
}


@dataclass(frozen=True)
class FailedCheck:
    check: str  # "asset/check"
    record_id: int  # the evaluation's record id in the instance: one failure, one id
    description: str
    # A model's own check failed on the data a retrain would see unchanged, trained with the settings a retrain
    # uses: retraining would fit the same model again (and start the cooldown that holds back a drift retrain).
    repeats_on_retrain: bool = False


@dataclass(frozen=True)
class RetrainRequest:
    model: str
    job_name: str
    run_key: str
    reason: str


@dataclass
class Plan:
    requests: list[RetrainRequest]
    skipped: list[str]
    cursor: dict[str, dict[str, float]] = field(default_factory=dict)


def plan_retrains(
    failures: list[FailedCheck],
    cursor: dict[str, dict[str, float]],
    now: float,
    cooldown_s: float,
    in_progress: set[str],
) -> Plan:
    """Which retrains to request now; the new cursor marks every failure seen here as handled."""
    handled = dict(cursor.get("handled", {}))
    last_request = dict(cursor.get("last_request", {}))
    fresh: dict[str, list[FailedCheck]] = {}
    skipped: list[str] = []
    for failure in failures:
        if failure.check not in WATCHED or failure.record_id <= handled.get(failure.check, -1):
            continue
        handled[failure.check] = failure.record_id
        if failure.repeats_on_retrain:
            skipped.append(f"{failure.check}: failed for a model trained with the retrain's settings on the current "
                           "data; a retrain would fit the same model (new data retrains it)")
            continue
        for model in WATCHED[failure.check]:
            fresh.setdefault(model, []).append(failure)
    requests: list[RetrainRequest] = []
    for model, model_failures in sorted(fresh.items()):
        checks = ", ".join(f.check for f in model_failures)
        if model in in_progress:
            skipped.append(f"{model}: a retrain is already queued or running ({checks})")
            continue
        since = now - last_request.get(model, float("-inf"))
        if since < cooldown_s:
            skipped.append(f"{model}: in cooldown for {cooldown_s - since:.0f} s more ({checks})")
            continue
        last_request[model] = now
        # check names first: the run tag keeps only the first 250 characters
        reason = f"failed {checks}: " + "; ".join(f.description for f in model_failures)
        run_key = f"retrain-{model}-" + "-".join(f"{f.check}@{f.record_id}" for f in model_failures)
        requests.append(RetrainRequest(model, JOBS[model], run_key, reason[:1000]))
    return Plan(requests, skipped, {"handled": handled, "last_request": last_request})
