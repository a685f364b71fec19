"""When a new model version may become ``champion``: a pure decision, recorded with its reason.

The rule (DESIGN.md): a version is promoted only when it beats the current champion and the baselines
on the same held-out data. "The champion on the same data" is the champion's hyperparameters refitted
on the current split (its logged model was trained on other data, so scoring it on today's holdout
would compare different training sets). Fitting is deterministic, so the same hyperparameters on the
same split give the same figures: a tie then means "as good as the champion", and the challenger wins
a tie only when it is trained on newer data (a retrain after drift must reach serving).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PromotionRule:
    """The headline metric, its direction, and the baseline metrics it must beat."""

    metric: str
    higher_is_better: bool
    baselines: tuple[str, ...]

    def better(self, a: float, b: float) -> bool:
        """a strictly better than b."""
        return a > b + TIE_TOLERANCE if self.higher_is_better else a < b - TIE_TOLERANCE

    def tie(self, a: float, b: float) -> bool:
        return abs(a - b) <= TIE_TOLERANCE


RECOMMENDER_RULE = PromotionRule(
    "ndcg_at_10", True,
    ("baseline_popular_ndcg_at_10", "baseline_repurchase_ndcg_at_10", "baseline_als_ndcg_at_10"),
)
FORECASTER_RULE = PromotionRule("wape", False, ("baseline_seasonal_naive_wape",))


@dataclass(frozen=True)
class Decision:
    promote: bool
    reason: str

    @property
    def label(self) -> str:
        return "promoted" if self.promote else "kept_champion"


def _fmt(value: float) -> str:
    return f"{value:.4f}"


def baseline_failures(rule: PromotionRule, metrics: dict[str, float]) -> list[str]:
    """Baselines the model does not beat, as readable comparisons (empty when it beats them all)."""
    value = metrics[rule.metric]
    failures = []
    for name in rule.baselines:
        baseline = metrics.get(name)
        if baseline is None or (isinstance(baseline, float) and math.isnan(baseline)):
            failures.append(f"{name} missing")
        elif not rule.better(value, baseline):
            failures.append(f"{rule.metric} {_fmt(value)} vs {name} {_fmt(baseline)}")
    return failures


def decide(
    rule: PromotionRule,
    challenger: dict[str, float],
    champion: dict[str, float] | None,
    champion_version: str | None = None,
    newer_data: bool = False,
) -> Decision:
    """Promote or keep, with the reason in words (stored as a run tag and in the asset metadata)."""
    value = challenger.get(rule.metric)
    if value is None or math.isnan(value):
        return Decision(False, f"{rule.metric} could not be computed")
    failures = baseline_failures(rule, challenger)
    if failures:
        return Decision(False, "does not beat the baselines: " + "; ".join(failures))
    if champion is None:
        return Decision(True, f"first champion: {rule.metric} {_fmt(value)} beats every baseline")
    reference = champion[rule.metric]
    versus = f"{rule.metric} {_fmt(value)} vs champion v{champion_version} {_fmt(reference)} on the same holdout"
    if rule.better(value, reference):
        return Decision(True, f"beats the champion and the baselines: {versus}")
    if rule.tie(value, reference) and newer_data:
        return Decision(True, f"ties the champion with its hyperparameters and is trained on newer data: {versus}")
    if rule.tie(value, reference):
        return Decision(False, f"no improvement (same hyperparameters and data as the champion): {versus}")
    return Decision(False, f"worse than the champion: {versus}")
