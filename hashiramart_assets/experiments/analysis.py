"""What an experiment shows so far, and what to do about it: continue, promote or retire the challenger.

Counts come from the API's own records: impressions (``app.impressions``, one per item shown) and the
feedback attributed to them (``app.feedback`` rows that name an impression). A click or purchase counts
once per (impression, product), so repeating a click cannot move the CTR.

The verdict (``decide``): promote when the challenger's CTR is significantly higher (two-proportion
test) on at least the minimum sample per variant and it is not worse offline; retire when it is
significantly lower; otherwise continue. A shadow experiment shows customers nothing of the
challenger, so it never concludes online: its record is for offline comparison.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import sqlalchemy
from sqlalchemy.engine import Connection

from hashiramart_assets.experiments.assignment import CHALLENGER, CHAMPION
from hashiramart_assets.experiments.stats import min_sample_size, two_proportion_test
from hashiramart_assets.experiments.store import Experiment

CONTINUE, PROMOTE, RETIRE, NO_EXPERIMENT = "continue", "promote", "retire", "no_experiment"


@dataclass(frozen=True)
class Rules:
    """How sure an online result must be (settings: HASHIRAMART_EXPERIMENT_*)."""

    confidence: float = 0.95
    power: float = 0.8
    min_relative_lift: float = 0.10  # the smallest CTR lift worth detecting: sizes the sample
    min_impressions: int = 1000  # per variant, whatever the formula says
    offline_tolerance: float = 0.02  # challenger NDCG may be this much (relative) below the champion's


@dataclass(frozen=True)
class VariantCounts:
    impressions: int = 0
    clicks: int = 0
    purchases: int = 0

    @property
    def ctr(self) -> float | None:
        return self.clicks / self.impressions if self.impressions else None

    @property
    def purchases_per_impression(self) -> float | None:
        return self.purchases / self.impressions if self.impressions else None


@dataclass(frozen=True)
class OfflineComparison:
    """NDCG@10 of the challenger and of the champion, ideally on the same holdout (the challenger's run)."""

    challenger_ndcg: float
    champion_ndcg: float
    source: str

    def worse(self, tolerance: float) -> bool:
        return self.challenger_ndcg < self.champion_ndcg * (1 - tolerance)


@dataclass(frozen=True)
class Analysis:
    experiment: Experiment
    champion: VariantCounts
    challenger: VariantCounts
    min_sample_size: int
    ctr_difference: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    shadow_requests: int = 0
    shadow_overlap: float | None = None
    decision: str = CONTINUE
    reason: str = ""
    offline: OfflineComparison | None = field(default=None)

    def as_dict(self) -> dict[str, float | int | str | bool | None]:
        """Flat, JSON-friendly: the admin endpoint's body and the asset's metadata."""
        e = self.experiment
        out: dict[str, float | int | str | bool | None] = {
            "model": e.model_name, "experiment_id": e.id, "mode": e.mode, "champion_version": e.champion_version,
            "challenger_version": e.challenger_version, "challenger_share": e.challenger_share,
            "started_at": e.started_at.isoformat(),
        }
        for name, counts in ((CHAMPION, self.champion), (CHALLENGER, self.challenger)):
            out.update({f"{name}_{k}": v for k, v in asdict(counts).items()})
            out[f"{name}_ctr"] = counts.ctr
            out[f"{name}_purchases_per_impression"] = counts.purchases_per_impression
        out.update(ctr_difference=self.ctr_difference, ctr_difference_ci_low=self.ci_low,
                   ctr_difference_ci_high=self.ci_high, p_value=self.p_value, min_sample_size=self.min_sample_size,
                   decision=self.decision, reason=self.reason)
        if e.shadow:
            out.update(shadow_requests=self.shadow_requests, shadow_overlap=self.shadow_overlap)
        if self.offline is not None:
            out.update(offline_challenger_ndcg_at_10=self.offline.challenger_ndcg,
                       offline_champion_ndcg_at_10=self.offline.champion_ndcg, offline_source=self.offline.source)
        return out


def variant_counts(conn: Connection, experiment_id: int) -> dict[str, VariantCounts]:
    """Impressions (items shown) and distinct clicked / bought (impression, product) pairs per variant."""
    shown: dict[str, int] = {
        str(row[0]): int(row[1]) for row in conn.execute(sqlalchemy.text(
            "select variant, coalesce(sum(cardinality(product_ids)), 0) from app.impressions "
            "where experiment_id = :e group by variant"), {"e": experiment_id})
    }
    acted: dict[tuple[str, str], int] = {
        (str(row[0]), str(row[1])): int(row[2]) for row in conn.execute(sqlalchemy.text(
            "select variant, event, count(distinct (impression_id, product_id)) from app.feedback "
            "where experiment_id = :e and impression_id is not null group by variant, event"), {"e": experiment_id})
    }
    return {v: VariantCounts(int(shown.get(v, 0)), acted.get((v, "click"), 0), acted.get((v, "purchase"), 0))
            for v in (CHAMPION, CHALLENGER)}


def shadow_summary(conn: Connection, experiment_id: int) -> tuple[int, float | None]:
    """(requests scored in shadow, mean share of the shown items the challenger would also have shown)."""
    row = conn.execute(sqlalchemy.text(
        "select count(*), avg(cardinality(array(select unnest(shown) intersect select unnest(shadow)))::float "
        "/ greatest(cardinality(shown), 1)) from app.shadow_predictions where experiment_id = :e"),
        {"e": experiment_id}).one()
    return int(row[0]), None if row[1] is None else float(row[1])


def required_sample(base_ctr: float | None, rules: Rules) -> int:
    """Impressions per variant before any verdict: the power formula at the champion's CTR, at least the floor."""
    if base_ctr is None or not 0 < base_ctr < 1 or not 0 < base_ctr * (1 + rules.min_relative_lift) < 1:
        return rules.min_impressions
    return max(rules.min_impressions, min_sample_size(base_ctr, rules.min_relative_lift, rules.confidence,
                                                      rules.power))


def analyse(experiment: Experiment, counts: dict[str, VariantCounts], rules: Rules,
            offline: OfflineComparison | None = None, shadow: tuple[int, float | None] = (0, None)) -> Analysis:
    """The figures and the verdict for ``experiment`` (pure: the caller reads the counts)."""
    a, b = counts[CHAMPION], counts[CHALLENGER]
    needed = required_sample(a.ctr, rules)
    base = Analysis(experiment, a, b, needed, shadow_requests=shadow[0], shadow_overlap=shadow[1], offline=offline)
    if experiment.shadow:
        return _with(base, CONTINUE, f"shadow mode: customers see only the champion; {shadow[0]} requests scored "
                                     "by the challenger are in app.shadow_predictions for offline comparison")
    if a.impressions == 0 or b.impressions == 0:
        return _with(base, CONTINUE, f"waiting for impressions (champion {a.impressions}, challenger "
                                     f"{b.impressions}; {needed} per variant needed)")
    test = two_proportion_test(a.clicks, a.impressions, b.clicks, b.impressions, rules.confidence)
    base = Analysis(experiment, a, b, needed, test.difference, test.ci_low, test.ci_high, test.p_value,
                    shadow[0], shadow[1], offline=offline)
    figures = (f"CTR challenger {test.rate_b:.4f} vs champion {test.rate_a:.4f} (difference {test.difference:+.4f}, "
               f"{rules.confidence:.0%} CI [{test.ci_low:+.4f}, {test.ci_high:+.4f}], p={test.p_value:.4g}; "
               f"impressions {b.impressions} / {a.impressions})")
    if min(a.impressions, b.impressions) < needed:
        return _with(base, CONTINUE, f"not enough impressions yet ({min(a.impressions, b.impressions)} of {needed} "
                                     f"per variant): {figures}")
    if not test.significant:
        return _with(base, CONTINUE, f"no significant difference yet: {figures}")
    if test.difference < 0:
        return _with(base, RETIRE, f"challenger significantly worse online: {figures}")
    if offline is not None and offline.worse(rules.offline_tolerance):
        return _with(base, CONTINUE, f"better online but worse offline (NDCG@10 {offline.challenger_ndcg:.4f} vs "
                                     f"{offline.champion_ndcg:.4f}, {offline.source}): {figures}")
    offline_words = "" if offline is None else (f"; offline NDCG@10 {offline.challenger_ndcg:.4f} vs "
                                                f"{offline.champion_ndcg:.4f} ({offline.source})")
    return _with(base, PROMOTE, f"challenger significantly better online: {figures}{offline_words}")


def _with(analysis: Analysis, decision: str, reason: str) -> Analysis:
    return replace(analysis, decision=decision, reason=reason)
