"""Hyperparameters of the hybrid recommender, in one frozen record that round-trips through MLflow params.

MLflow stores params as strings, so ``from_dict`` converts each value back to the field's type; a run's
logged params are then enough to refit the very same model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RecommenderParams:
    """ALS, history, popularity and blend settings; ``seed`` fixes ALS initialisation.

    Defaults were chosen on generated data by next-basket NDCG@10 of the holdout split, at four scales
    (60k events over 120 days, 200k over 365 days, 2M and 10M over 365 days): the history half-life of a
    year is the one setting that beats the repurchase baseline at all four (90 days loses at 10M:
    0.2196 vs 0.2200). The half-life also sets the popularity ranking's recency (cold-start fallback).
    """

    # implicit ALS (discovery component)
    factors: int = 16
    regularization: float = 0.05
    iterations: int = 15
    alpha: float = 2.0
    # own purchase history (re-buy component): frequency of purchase days x recency decay
    history_half_life_days: float = 365.0
    # smoothing of the per-product repeat rate (share of buyers who bought it on two or more days)
    repeat_prior: float = 5.0
    # blend: score = history_weight * history + als_weight * als + popularity_weight * popularity,
    # each component scaled to [0, 1] per customer first
    history_weight: float = 1.0
    als_weight: float = 0.3
    popularity_weight: float = 0.1
    # neighbour baskets (TIFU-KNN): the mean history of the customer's 50 most similar customers; 0 turns it off.
    # 0.5 won the validation search on the real Online Retail file (benchmarks/reports/recommender_real.md:
    # test NDCG@10 0.3071 vs 0.3039 without, P@10 0.2350 vs 0.2322; discovery 0.0912 vs 0.0843) and is at least
    # as good at 60k, 200k and 2M generated events (NDCG@10 0.5035 vs 0.4964, 0.4578 vs 0.4518, 0.2566 vs 0.2565)
    neighbour_weight: float = 0.5
    neighbours_k: int = 50
    seed: int = 42

    def __post_init__(self) -> None:
        for name in ("factors", "iterations", "neighbours_k"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 (got {getattr(self, name)})")
        for name in ("regularization", "alpha", "history_half_life_days"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0 (got {getattr(self, name)})")
        for name in ("repeat_prior", "history_weight", "als_weight", "popularity_weight", "neighbour_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (got {getattr(self, name)})")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0 (got {self.seed})")

    def to_dict(self) -> dict[str, Any]:
        """Plain field -> value mapping, ready for ``mlflow.log_params``."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RecommenderParams:
        """Inverse of ``to_dict``; accepts MLflow's string values and ignores unrelated keys."""
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name in values:
                caster = int if f.type in ("int", int) else float
                kwargs[f.name] = caster(values[f.name])
        return cls(**kwargs)
