"""Hyperparameters of the hybrid recommender, in one frozen record that round-trips through MLflow params.

MLflow stores params as strings, so ``from_dict`` converts each value back to the field's type; a run's
logged params are then enough to refit the very same model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ALS_WEIGHTINGS = ("none", "log", "bm25")
# field type (a string under ``from __future__ import annotations``) -> how to read MLflow's string back
_CASTERS: dict[Any, Any] = {"int": int, int: int, "str": str, str: str, "float": float, float: float}


@dataclass(frozen=True)
class RecommenderParams:
    """ALS, history, popularity and repeat/explore blend settings; ``seed`` fixes ALS initialisation.

    The ALS, popularity, seasonal-lift, blend and explore defaults are the winner of the coordinate search
    in benchmarks/bench_recommender_real.py on the VALIDATION split of the real Online Retail file (each
    repeat buyer's last purchase day before the test day; the test split is scored once, after choosing),
    among the settings that stay at least as good as the previous defaults on generated data (60k and 200k
    events: NDCG@10 / discovery NDCG@10 >= 0.5035 / 0.3275 and 0.4578 / 0.3167). Figures
    (benchmarks/reports/recommender_real.md):

    * validation: hybrid P@10 0.2631 / NDCG@10 0.3284 vs repurchase 0.2451 / 0.3080 (+7.3 % / +6.6 %);
      discovery NDCG@10 0.1054 vs plain ALS 0.0945; generated 60k 0.5148 / 0.3432, 200k 0.4578 / 0.3239;
    * test ("validation winner"): hybrid P@10 0.2431 / NDCG@10 0.3190 vs repurchase 0.2244 / 0.2976
      (+8.3 % / +7.2 %); discovery 0.1048 vs plain ALS 0.0927 (before: 0.2350 / 0.3071, +4.7 % / +3.2 %,
      discovery 0.0912 vs 0.083). The report's "defaults" row is the previous search round's winner, the
      same but regularization 1.0 (test +8.3 % / +7.2 %, discovery 0.1045 vs 0.0931).

    What the guard costs: a full seasonal lift (1.0, prior 4) scores test P@10 / NDCG@10 +10.4 % / +9.2 %
    over repurchase but loses 0.4 % of NDCG@10 at 200k generated events (0.4559 vs 0.4578).
    The history half-life of a year was chosen earlier on generated data at four scales (60k to 10M events):
    the one setting that beat the repurchase baseline at all four (90 days lost at 10M: 0.2196 vs 0.2200).
    It also sets the cold-start fallback's popularity.
    """

    # implicit ALS (the discovery signal, and a minor part of the re-buy score)
    factors: int = 16
    regularization: float = 0.1
    iterations: int = 15
    alpha: float = 1.0
    # how the interaction matrix is turned into ALS confidences (als.weight_matrix): "none" (the weights
    # as built), "log" (log1p of them) or "bm25" (implicit's bm25_weight with bm25_k1 and bm25_b)
    als_weighting: str = "log"
    bm25_k1: float = 100.0
    bm25_b: float = 0.8
    # own purchase history (re-buy component): frequency of purchase days x recency decay
    history_half_life_days: float = 365.0
    # smoothing of the per-product repeat rate (share of buyers who bought it on two or more days)
    repeat_prior: float = 5.0
    # repeat score, over the products the customer bought (model.py): history_weight * history
    # + als_weight * als + popularity_weight * popularity + neighbour_weight * neighbours, each component
    # scaled to [0, 1] over those products first, the sum scaled so the customer's best is 1
    history_weight: float = 1.0
    als_weight: float = 0.3
    popularity_weight: float = 0.1
    # neighbour baskets (TIFU-KNN): the mean history of the customer's 50 most similar customers; 0 turns it off
    neighbour_weight: float = 0.5
    neighbours_k: int = 50
    # popularity in both scores: recency-weighted purchase days with this half-life (a short one follows
    # the season); the cold-start fallback keeps the history half-life
    popularity_half_life_days: float = 30.0
    # explore score, over the products the customer never bought: als + explore_neighbour_weight * neighbours
    # + explore_popularity_weight * popularity (each scaled to [0, 1] over those products), scaled so its
    # best is 1, then multiplied by explore_weight: the best new product outranks a re-buy candidate whose
    # repeat score is below explore_weight (must be > 0, or discovery lists would tie everywhere)
    explore_weight: float = 0.1
    explore_neighbour_weight: float = 0.5
    explore_popularity_weight: float = 0.3
    # seasonal lift: both scores multiplied by lift ** seasonal_lift, lift = (recent share + e) / (long-run share + e)
    # of the product's purchase days (popularity_half_life_days vs history_half_life_days), e =
    # seasonal_lift_prior / n_products: what sells more now than it usually does (Christmas stock in November)
    # is likelier in the next basket; a product with no sales history gets lift 1. 0 turns it off.
    seasonal_lift: float = 0.5
    seasonal_lift_prior: float = 4.0
    seed: int = 42

    def __post_init__(self) -> None:
        for name in ("factors", "iterations", "neighbours_k"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 (got {getattr(self, name)})")
        for name in ("regularization", "alpha", "history_half_life_days", "popularity_half_life_days",
                     "explore_weight", "seasonal_lift_prior"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0 (got {getattr(self, name)})")
        for name in ("repeat_prior", "history_weight", "als_weight", "popularity_weight", "neighbour_weight",
                     "explore_neighbour_weight", "explore_popularity_weight", "bm25_k1", "bm25_b", "seasonal_lift"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0 (got {getattr(self, name)})")
        if self.als_weighting not in ALS_WEIGHTINGS:
            raise ValueError(f"als_weighting must be one of {ALS_WEIGHTINGS} (got {self.als_weighting!r})")
        if self.bm25_b > 1:
            raise ValueError(f"bm25_b must be in [0, 1] (got {self.bm25_b})")
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
                kwargs[f.name] = _CASTERS.get(f.type, float)(values[f.name])
        return cls(**kwargs)
