"""Asset checks on the model assets: beats the baselines, metrics within expected ranges, no segment left out.

They judge the challenger just trained (its metrics on the holdout). They do not block: the served
model is the registry's champion, which a failing challenger never replaces; the retraining sensor
reacts to these failures.
"""

from __future__ import annotations

import math

import dagster as dg
import pandas as pd

from hashiramart_assets.ml.promotion import PromotionRule, baseline_failures

BEATS_BASELINES = "beats_baselines"
METRICS_IN_RANGE = "metrics_in_range"
SEGMENTS_SERVED = "segments_served"


def model_check_specs(key: dg.AssetKey, with_segments: bool = False) -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(BEATS_BASELINES, asset=key, description="The headline metric beats every baseline "
                          "on the same held-out data."),
        dg.AssetCheckSpec(METRICS_IN_RANGE, asset=key, description="Every metric is finite and inside its "
                          "expected range (configurable floors and ceilings)."),
    ]
    if with_segments:
        specs.append(dg.AssetCheckSpec(SEGMENTS_SERVED, asset=key, description="No customer segment gets much "
                                       "worse recommendations than the average customer."))
    return specs


def beats_baselines_result(key: dg.AssetKey, rule: PromotionRule, metrics: dict[str, float]) -> dg.AssetCheckResult:
    failures = baseline_failures(rule, metrics)
    return dg.AssetCheckResult(
        asset_key=key, check_name=BEATS_BASELINES, passed=not failures,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(failures) if failures else f"{rule.metric} beats every baseline",
        metadata={rule.metric: metrics.get(rule.metric, float("nan")),
                  **{name: metrics.get(name, float("nan")) for name in rule.baselines}},
    )


def range_problems(metrics: dict[str, float], ranges: dict[str, tuple[float, float]]) -> list[str]:
    """Metrics outside [low, high] or not finite, as readable lines."""
    problems = []
    for name, (low, high) in ranges.items():
        value = metrics.get(name)
        if value is None or not math.isfinite(value):
            problems.append(f"{name} is {value} (not a finite number)")
        elif not low <= value <= high:
            problems.append(f"{name} = {value:.4f} is outside [{low}, {high}]")
    return problems


def metrics_in_range_result(
    key: dg.AssetKey, metrics: dict[str, float], ranges: dict[str, tuple[float, float]]
) -> dg.AssetCheckResult:
    problems = range_problems(metrics, ranges)
    return dg.AssetCheckResult(
        asset_key=key, check_name=METRICS_IN_RANGE, passed=not problems, severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) if problems else f"{len(ranges)} metrics within range",
        metadata={"ranges": dg.MetadataValue.json({k: list(v) for k, v in ranges.items()}),
                  **{name: metrics.get(name, float("nan")) for name in ranges}},
    )


def segments_served_result(
    key: dg.AssetKey, segments: pd.DataFrame, overall_ndcg: float, min_ratio: float
) -> dg.AssetCheckResult:
    """Re-buy mode, the model itself: each segment's NDCG must reach ``min_ratio`` of the overall NDCG."""
    mine = segments[(segments["model"] == "hybrid") & (segments["mode"] == "rebuy")]
    table = {str(r.segment): {"ndcg_at_10": round(float(r.ndcg_at_10), 4), "customers": int(r.n_customers)}
             for r in mine.itertuples()}
    weak = [s for s, v in table.items() if v["ndcg_at_10"] < min_ratio * overall_ndcg and v["customers"] >= 5]
    return dg.AssetCheckResult(
        asset_key=key, check_name=SEGMENTS_SERVED, passed=not weak, severity=dg.AssetCheckSeverity.WARN,
        description=(f"segments below {min_ratio:.0%} of the overall NDCG {overall_ndcg:.4f}: {', '.join(weak)}"
                     if weak else "every segment with 5+ customers is served within range"),
        metadata={"segments": dg.MetadataValue.json(table)},
    )
