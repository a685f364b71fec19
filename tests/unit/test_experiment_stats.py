"""Assignment of customers to variants, the two-proportion test and the experiment verdict (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hashiramart_assets.experiments.analysis import (
    CONTINUE,
    PROMOTE,
    RETIRE,
    OfflineComparison,
    Rules,
    VariantCounts,
    analyse,
    required_sample,
)
from hashiramart_assets.experiments.assignment import CHALLENGER, CHAMPION, bucket, variant
from hashiramart_assets.experiments.stats import min_sample_size, two_proportion_test
from hashiramart_assets.experiments.store import Experiment

IDS = range(1, 2001)


@pytest.mark.parametrize("share", [0.1, 0.2, 0.5, 0.8])
def test_assignment_share_within_five_points_over_2000_ids(share):
    shown = sum(variant(c, 7, share) == CHALLENGER for c in IDS) / len(IDS)
    assert abs(shown - share) <= 0.05


def test_assignment_is_deterministic_sticky_and_rerandomised_per_experiment():
    first = [variant(c, 7, 0.3) for c in IDS]
    assert first == [variant(c, 7, 0.3) for c in IDS]  # same answer every time (every worker, every restart)
    # raising the share keeps everyone who had the challenger there
    grown = [variant(c, 7, 0.6) for c in IDS]
    assert all(g == CHALLENGER for f, g in zip(first, grown, strict=True) if f == CHALLENGER)
    # another experiment draws other customers: the overlap is about share^2, not share
    other = [variant(c, 8, 0.3) for c in IDS]
    both = sum(a == b == CHALLENGER for a, b in zip(first, other, strict=True)) / len(IDS)
    assert 0.03 < both < 0.15
    assert variant(5, 7, 0.0) == CHAMPION and variant(5, 7, 1.0) == CHALLENGER
    assert all(0 <= bucket(c, 7) < 1 for c in IDS)


def test_two_proportion_test_on_hand_worked_counts():
    # champion 100/1000, challenger 130/1000. pooled p = 230/2000 = 0.115,
    # se0 = sqrt(0.115 * 0.885 * (1/1000 + 1/1000)) = 0.0142671, z = 0.03 / se0 = 2.10274,
    # p = 2 * (1 - Phi(2.10274)) = 0.03549; se = sqrt(0.1*0.9/1000 + 0.13*0.87/1000) = 0.0142513,
    # 95 % CI = 0.03 +- 1.959964 * 0.0142513 = [0.002068, 0.057932]
    result = two_proportion_test(100, 1000, 130, 1000)
    assert result.rate_a == 0.1 and result.rate_b == 0.13
    assert result.difference == pytest.approx(0.03)
    assert result.z == pytest.approx(2.10274, abs=1e-4)
    assert result.p_value == pytest.approx(0.03549, abs=2e-4)
    assert (result.ci_low, result.ci_high) == (pytest.approx(0.002068, abs=1e-5), pytest.approx(0.057932, abs=1e-5))
    assert result.significant
    assert not two_proportion_test(100, 1000, 110, 1000).significant  # 10 % vs 11 % on 1,000 each: p ~ 0.47
    assert two_proportion_test(0, 50, 0, 60).p_value == 1.0  # no variation: no evidence, no division by zero
    with pytest.raises(ValueError, match=r"within 0\.\.10"):
        two_proportion_test(11, 10, 1, 10)


def test_minimum_sample_size_matches_the_textbook_figure():
    # 10 % -> 11 % at alpha 0.05 (two-sided), power 0.8: 14,751 per group (the standard calculator's figure)
    assert min_sample_size(0.10, 0.10) == 14751
    assert min_sample_size(0.10, 0.20) < min_sample_size(0.10, 0.10)  # bigger effects need fewer impressions
    assert required_sample(None, Rules(min_impressions=500)) == 500
    assert required_sample(0.5, Rules(min_impressions=10, min_relative_lift=0.5)) >= 10
    with pytest.raises(ValueError):
        min_sample_size(0.0, 0.1)


def _experiment(shadow: bool = False) -> Experiment:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    return Experiment(3, "hashiramart-recommender", "1", "2", 0.5, shadow, now, "test", now)


RULES = Rules(min_impressions=1000, min_relative_lift=0.5)  # 10 % -> 15 %: ~680 per group, floor 1,000


def test_verdicts():
    counts = {CHAMPION: VariantCounts(2000, 200, 20), CHALLENGER: VariantCounts(2000, 300, 25)}
    better = analyse(_experiment(), counts, RULES, OfflineComparison(0.30, 0.29, "same holdout"))
    assert better.decision == PROMOTE and "significantly better" in better.reason
    assert better.as_dict()["challenger_ctr"] == 0.15 and better.as_dict()["p_value"] < 0.001
    worse_offline = analyse(_experiment(), counts, RULES, OfflineComparison(0.20, 0.29, "same holdout"))
    assert worse_offline.decision == CONTINUE and "worse offline" in worse_offline.reason
    flipped = {CHAMPION: counts[CHALLENGER], CHALLENGER: counts[CHAMPION]}
    assert analyse(_experiment(), flipped, RULES).decision == RETIRE
    small = {CHAMPION: VariantCounts(500, 50, 0), CHALLENGER: VariantCounts(500, 90, 0)}
    too_early = analyse(_experiment(), small, RULES)
    assert too_early.decision == CONTINUE and "not enough impressions" in too_early.reason
    same = {CHAMPION: VariantCounts(2000, 200, 0), CHALLENGER: VariantCounts(2000, 205, 0)}
    assert analyse(_experiment(), same, RULES).decision == CONTINUE
    shadow = analyse(_experiment(shadow=True), counts, RULES, shadow=(40, 0.6))
    assert shadow.decision == CONTINUE and shadow.as_dict()["shadow_overlap"] == 0.6
