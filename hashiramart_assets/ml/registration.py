"""After a model is logged: register it as ``challenger``, judge it against the champion, record why.

Shared by both models so the promotion rule is applied the same way everywhere. The champion is judged
on the same held-out data as the challenger by refitting its logged hyperparameters (``params_json``
tag) on today's split; see promotion.py for why.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mlflow
from mlflow.tracking import MlflowClient

from hashiramart_assets.ml import registry
from hashiramart_assets.ml.promotion import Decision, PromotionRule, decide

PARAMS_TAG = "params_json"
FINGERPRINT_TAG = "data_fingerprint"
DATA_END_TAG = "data_end_date"  # last day of the training data: monitoring compares what came after


@dataclass(frozen=True)
class Lineage:
    """What ties an MLflow run to the platform: the Dagster run, the code, the input data versions."""

    dagster_run_id: str
    git_commit: str
    data_versions: dict[str, str]
    # Days the raw layer rejected (missing, empty, truncated, unreadable files): trained without them
    excluded_days: dict[str, str] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """One string for "the training data": the sorted input data versions."""
        return ";".join(f"{k}={v}" for k, v in sorted(self.data_versions.items()))

    def tags(self) -> dict[str, str]:
        tags = {"dagster_run_id": self.dagster_run_id, "git_commit": self.git_commit, FINGERPRINT_TAG: self.fingerprint}
        tags.update({f"data_version.{key}": value for key, value in self.data_versions.items()})
        if self.excluded_days:
            days = ",".join(self.excluded_days)
            tags["excluded_days_count"] = str(len(self.excluded_days))
            tags["excluded_days"] = days if len(days) <= 5000 else days[:4990] + ",..."
            tags["data_warning"] = (f"trained without {len(self.excluded_days)} day(s) the raw layer rejected: "
                                    + "; ".join(f"{d} {why}" for d, why in list(self.excluded_days.items())[:5]))[:5000]
        return tags


@dataclass(frozen=True)
class RegistrationOutcome:
    name: str
    version: str
    run_id: str
    decision: Decision
    champion_version: str | None  # after the decision
    previous_champion: str | None
    champion_metrics: dict[str, float] | None  # the previous champion's, on the same holdout


def log_params_json(params: dict[str, Any]) -> None:
    """Params as MLflow params (searchable) and as one JSON tag (exact types, to refit the model later)."""
    mlflow.log_params({k: json.dumps(v) if isinstance(v, list | tuple | dict) else v for k, v in params.items()})
    mlflow.set_tag(PARAMS_TAG, json.dumps(params, sort_keys=True))


def register_and_decide(
    client: MlflowClient,
    name: str,
    version: str,
    run_id: str,
    rule: PromotionRule,
    metrics: dict[str, float],
    params: dict[str, Any],
    lineage: Lineage,
    evaluate_params: Callable[[dict[str, Any]], dict[str, float]],
) -> RegistrationOutcome:
    """Mark ``version`` challenger, compare with the champion on the same data, promote or keep."""
    registry.mark_challenger(client, name, version)
    current = registry.champion(client, name)
    champion_metrics = None
    newer_data = True
    if current is not None:
        assert current.run_id is not None  # train_* registers every version from its run
        champion_run = client.get_run(current.run_id)
        champion_params = json.loads(champion_run.data.tags.get(PARAMS_TAG, "{}"))
        same_params = json.dumps(champion_params, sort_keys=True) == json.dumps(params, sort_keys=True)
        champion_metrics = metrics if same_params else evaluate_params(champion_params)
        newer_data = champion_run.data.tags.get(FINGERPRINT_TAG) != lineage.fingerprint
    decision = decide(rule, metrics, champion_metrics, str(current.version) if current else None, newer_data)
    if decision.promote:
        registry.promote(client, name, version, decision.reason)
    for key, value in (("promotion_decision", decision.label), ("promotion_reason", decision.reason)):
        client.set_tag(run_id, key, value)
        client.set_model_version_tag(name, version, key, value)
    if champion_metrics is not None:
        client.log_metric(run_id, f"champion_{rule.metric}", champion_metrics[rule.metric])
    after = registry.champion(client, name)
    return RegistrationOutcome(
        name=name, version=str(version), run_id=run_id, decision=decision,
        champion_version=str(after.version) if after else None,
        previous_champion=str(current.version) if current else None,
        champion_metrics=champion_metrics,
    )
