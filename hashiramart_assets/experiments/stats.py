"""The two-proportion comparison behind an experiment's verdict, and how many impressions it needs.

Only the standard library (``statistics.NormalDist``): the normal approximation is what these counts
(thousands of impressions per variant) call for, and it keeps the API process free of scipy.

Caveat, said where it applies: impressions of one customer are not independent draws; treating them as
such makes the test somewhat optimistic. The minimum sample size and a significance level of 5 % are
the guard against declaring a winner on a handful of enthusiastic customers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_NORMAL = NormalDist()


@dataclass(frozen=True)
class ProportionTest:
    """Challenger (b) against champion (a): difference b - a, its confidence interval, two-sided p-value."""

    rate_a: float
    rate_b: float
    difference: float
    ci_low: float
    ci_high: float
    z: float
    p_value: float
    confidence: float

    @property
    def significant(self) -> bool:
        return self.p_value < 1 - self.confidence


def two_proportion_test(successes_a: int, trials_a: int, successes_b: int, trials_b: int,
                        confidence: float = 0.95) -> ProportionTest:
    """Pooled z-test of p_b = p_a (p-value) and the unpooled Wald interval of p_b - p_a.

    Why two variances: under the null hypothesis both variants share one rate (pooled), while the interval
    describes the difference as observed (each variant's own variance). Degenerate inputs (no trials, or
    no variation at all) give p = 1 and a zero-width interval rather than a division by zero.
    """
    if trials_a <= 0 or trials_b <= 0:
        raise ValueError("both variants need at least one trial")
    for name, s, n in (("a", successes_a, trials_a), ("b", successes_b, trials_b)):
        if not 0 <= s <= n:
            raise ValueError(f"variant {name}: successes {s} must be within 0..{n}")
    p_a, p_b = successes_a / trials_a, successes_b / trials_b
    difference = p_b - p_a
    pooled = (successes_a + successes_b) / (trials_a + trials_b)
    se_pooled = math.sqrt(pooled * (1 - pooled) * (1 / trials_a + 1 / trials_b))
    if se_pooled == 0:
        z, p_value = 0.0, 1.0
    else:
        z = difference / se_pooled
        p_value = 2 * (1 - _NORMAL.cdf(abs(z)))
    se = math.sqrt(p_a * (1 - p_a) / trials_a + p_b * (1 - p_b) / trials_b)
    half = _NORMAL.inv_cdf(1 - (1 - confidence) / 2) * se
    return ProportionTest(p_a, p_b, difference, difference - half, difference + half, z, p_value, confidence)


def min_sample_size(base_rate: float, relative_lift: float, confidence: float = 0.95, power: float = 0.8) -> int:
    """Impressions per variant to detect ``base_rate * (1 + relative_lift)`` against ``base_rate``.

    The usual two-sided formula: n = (z_{1-a/2} sqrt(2 p(1-p)) + z_{power} sqrt(p1(1-p1) + p2(1-p2)))^2
    / (p2 - p1)^2 with p the mean of the two rates.
    """
    if not 0 < base_rate < 1:
        raise ValueError(f"base rate {base_rate} must be within (0, 1)")
    target = base_rate * (1 + relative_lift)
    if not 0 < target < 1 or relative_lift == 0:
        raise ValueError(f"a lift of {relative_lift:+.0%} from {base_rate} is not a rate within (0, 1)")
    mean = (base_rate + target) / 2
    z_alpha = _NORMAL.inv_cdf(1 - (1 - confidence) / 2)
    z_power = _NORMAL.inv_cdf(power)
    numerator = (z_alpha * math.sqrt(2 * mean * (1 - mean))
                 + z_power * math.sqrt(base_rate * (1 - base_rate) + target * (1 - target))) ** 2
    return math.ceil(numerator / (target - base_rate) ** 2)
