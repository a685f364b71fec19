"""Hyper-parameters of the forecaster, frozen so a trained model always knows exactly what made it.

Objective: "auto" is the default since feature set 2: the backtest picks Tweedie, squared error on
log1p(sales) or plain squared error on a validation window before its first scored window (selection.py);
benchmarks/reports/forecaster_real.md shows which wins where (log1p on the real shop's categories and
products). The figures below are from feature set 1, when 'tweedie' was the fixed default. Daily
item/category sales are non-negative, zero-inflated and right-skewed. Backtest WAPE on generated data
(GeneratorConfig(events=60_000, days=200, seed=7), H=28):
category level tweedie 0.775, poisson 0.764, regression (L2) 0.794 (seasonal naive 0.940); product level
tweedie 0.924, poisson 0.946, regression 0.970 (seasonal naive 1.117). Tweedie (variance power 1.2) is
best or within noise of best at both grains, L2 is worst at both.

Learning rate 0.1 with 150 trees and two threads (was 0.05, 300, one thread): the full graph at 10M
events spent 447 s in the forecaster. Backtest (H=28, both grains) old vs new: 10M events WAPE 0.5604
vs 0.5585, interval coverage 0.857 vs 0.861, 228 s vs 62 s; 2M events 0.5847 vs 0.5772 (36 s vs
12 s); 200k events 0.798 vs 0.806, coverage 0.84 vs 0.79 (nominal 0.80); 60k events / 200 days
0.8511 vs 0.8515. Seasonal naive: 0.704, 0.747, 1.098, 1.029. With ``deterministic`` and row-wise
histograms a fixed thread count gives the same model on every run. Since rolling features restart their
prefix sums per series (features.py), 10M events: WAPE 0.5556, coverage 0.860 (float rounding only).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

OBJECTIVES = ("tweedie", "poisson", "regression", "regression_l1")
TRANSFORMS = ("none", "log1p")
AUTO = "auto"
# What "auto" tries, as (objective, target transform): Tweedie on raw units suits intermittent item demand,
# squared error on log1p(sales) suits store sales judged by relative error (RMSPE), plain squared error is
# the reference. ``backtest`` picks one on a validation window that precedes every scored window.
AUTO_CANDIDATES: tuple[tuple[str, str], ...] = (("tweedie", "none"), ("regression", "log1p"), ("regression", "none"))
SELECTION_METRICS = ("wape", "rmse", "rmspe")
# Parameters added after feature set 1; a saved model's params without them get these values back, so
# an old champion keeps the exact features and target it was trained with (see ``from_dict``).
LEGACY_VALUES: dict[str, Any] = {"feature_set": 1, "target_transform": "none", "backtest_windows": 1,
                                 "short_horizons": ()}
FEATURE_SETS = (1, 2)


@dataclass(frozen=True)
class ForecasterParams:
    """What ``train`` needs besides the data. ``quantiles`` bound the prediction interval (0.1, 0.9 = 80 %)."""

    horizon: int = 28
    num_leaves: int = 31
    learning_rate: float = 0.1
    n_estimators: int = 150
    min_data_in_leaf: int = 20
    feature_fraction: float = 0.8
    lambda_l2: float = 1.0
    objective: str = AUTO
    tweedie_variance_power: float = 1.2
    quantiles: tuple[float, float] = (0.1, 0.9)
    seed: int = 42
    num_threads: int = 2  # 1.6x faster than one thread at 1.5M training rows on 2 cores
    # "log1p": the models learn log(1 + sales) and forecasts are transformed back (quantiles map exactly).
    target_transform: str = "none"
    # 2: target encodings, closed-day / holiday proximity and the file's covariates; no categorical series
    # code (a LightGBM categorical of hundreds of levels made fits 60x slower). 1: the first feature set.
    feature_set: int = 2
    # Rolling origins of the backtest: its metrics (and so promotion) pool this many H-day windows.
    backtest_windows: int = 3
    # Extra point models for the first days of the horizon, with lags from that many days back (a 7-day
    # model sees last week's sales when forecasting the next 7 days); empty = one model for all H days.
    short_horizons: tuple[int, ...] = (7,)
    selection_metric: str = "wape"

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f"horizon must be >= 1 (got {self.horizon})")
        if self.objective not in (*OBJECTIVES, AUTO):
            raise ValueError(f"objective {self.objective!r} is not one of {(*OBJECTIVES, AUTO)}")
        if self.target_transform not in TRANSFORMS:
            raise ValueError(f"target_transform {self.target_transform!r} is not one of {TRANSFORMS}")
        if self.feature_set not in FEATURE_SETS:
            raise ValueError(f"feature_set {self.feature_set!r} is not one of {FEATURE_SETS}")
        if self.selection_metric not in SELECTION_METRICS:
            raise ValueError(f"selection_metric {self.selection_metric!r} is not one of {SELECTION_METRICS}")
        if self.backtest_windows < 1:
            raise ValueError(f"backtest_windows must be >= 1 (got {self.backtest_windows})")
        if any(h < 1 for h in self.short_horizons):
            raise ValueError(f"short_horizons must be >= 1 (got {self.short_horizons})")
        low, high = self.quantiles
        if not 0 < low < high < 1:
            raise ValueError(f"quantiles must satisfy 0 < low < high < 1 (got {self.quantiles})")
        if self.n_estimators < 1 or self.num_leaves < 2 or self.num_threads < 1:
            raise ValueError("n_estimators >= 1, num_leaves >= 2 and num_threads >= 1 are required")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able values (tuples become lists), e.g. for mlflow.log_params."""
        out = asdict(self)
        out["quantiles"] = list(self.quantiles)
        out["short_horizons"] = list(self.short_horizons)
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ForecasterParams:
        """Inverse of ``to_dict``; unknown keys raise so a typo never silently falls back to a default."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown forecaster parameter(s) {unknown}; known: {sorted(known)}")
        clean = {**LEGACY_VALUES, **values}
        if "quantiles" in clean:
            clean["quantiles"] = tuple(float(q) for q in clean["quantiles"])
        clean["short_horizons"] = tuple(int(h) for h in clean["short_horizons"])
        return cls(**clean)

    @property
    def resolved(self) -> bool:
        """True once objective is a concrete one (``backtest`` resolves "auto")."""
        return self.objective != AUTO

    def model_horizons(self) -> tuple[int, ...]:
        """Horizons of the point models: the short ones below H, then H itself."""
        return (*sorted({h for h in self.short_horizons if h < self.horizon}), self.horizon)

    def replace(self, **changes: Any) -> ForecasterParams:
        return ForecasterParams.from_dict({**self.to_dict(), **changes})

    def lightgbm_params(self, objective: str | None = None, alpha: float | None = None) -> dict[str, Any]:
        """Booster parameters; deterministic (fixed seed, column-wise histograms, fixed thread count)."""
        chosen = objective or self.objective
        if chosen == AUTO:
            raise ValueError("objective 'auto' must be resolved by the backtest before training")
        params: dict[str, Any] = {
            "objective": chosen,
            "num_leaves": self.num_leaves,
            "learning_rate": self.learning_rate,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "lambda_l2": self.lambda_l2,
            "seed": self.seed,
            "deterministic": True,
            # Column-wise, not row-wise: with two threads and another busy process on a 2-core machine
            # row-wise histograms made a 4,862-row fit take 27 s instead of 0.09 s (threads spin on merges).
            "force_col_wise": True,
            "num_threads": self.num_threads,
            "verbosity": -1,
        }
        if params["objective"] == "tweedie":
            params["tweedie_variance_power"] = self.tweedie_variance_power
        if alpha is not None:
            params["alpha"] = alpha
        return params
