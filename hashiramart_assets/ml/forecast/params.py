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

from typing import Annotated, Any, ClassVar, Final, Literal, get_args

from pydantic import Field, field_validator

from hashiramart_assets.ml.params import ModelParams

Objective = Literal["tweedie", "poisson", "regression", "regression_l1", "auto"]
AUTO: Final = "auto"
OBJECTIVES = tuple(o for o in get_args(Objective) if o != AUTO)
TargetTransform = Literal["none", "log1p"]
TRANSFORMS = get_args(TargetTransform)
# What "auto" tries, as (objective, target transform): Tweedie on raw units suits intermittent item demand,
# squared error on log1p(sales) suits store sales judged by relative error (RMSPE), plain squared error is
# the reference. ``backtest`` picks one on a validation window that precedes every scored window.
AUTO_CANDIDATES: tuple[tuple[str, str], ...] = (("tweedie", "none"), ("regression", "log1p"), ("regression", "none"))
SelectionMetric = Literal["wape", "rmse", "rmspe"]
SELECTION_METRICS = get_args(SelectionMetric)
# Parameters added after feature set 1; a saved model's params without them get these values back, so
# an old champion keeps the exact features and target it was trained with (see ``ModelParams.from_dict``).
# No parameter was ever renamed or removed, so ``LEGACY_RENAMED`` / ``LEGACY_REMOVED`` stay empty.
LEGACY_VALUES: dict[str, Any] = {"feature_set": 1, "target_transform": "none", "backtest_windows": 1,
                                 "short_horizons": []}
FEATURE_SETS = (1, 2)
# A type, not a field's Field(...), so a subclass can change the default and keep the range
FeatureSet = Annotated[int, Field(ge=min(FEATURE_SETS), le=max(FEATURE_SETS))]


class ForecasterParams(ModelParams):
    """What ``train`` needs besides the data. ``quantiles`` bound the prediction interval (0.1, 0.9 = 80 %).

    Also the ``models/sales_forecaster`` asset's Dagster config (``ForecasterConfig`` inherits it), hence
    lists rather than tuples.
    """

    LEGACY_VALUES: ClassVar[dict[str, Any]] = LEGACY_VALUES

    horizon: int = Field(default=28, ge=1)
    num_leaves: int = Field(default=31, ge=2)
    learning_rate: float = 0.1
    n_estimators: int = Field(default=150, ge=1)
    min_data_in_leaf: int = 20
    feature_fraction: float = 0.8
    lambda_l2: float = 1.0
    # "auto": chosen on a validation window before the scored ones (see selection.py)
    objective: Objective = AUTO
    tweedie_variance_power: float = 1.2
    quantiles: list[float] = Field(default=[0.1, 0.9])
    seed: int = 42
    num_threads: int = Field(default=2, ge=1)  # 1.6x faster than one thread at 1.5M training rows on 2 cores
    # "log1p": the models learn log(1 + sales) and forecasts are transformed back (quantiles map exactly);
    # used when objective is not "auto" (which picks the transform too)
    target_transform: TargetTransform = "none"
    # 2: target encodings, closed-day / holiday proximity and the file's covariates; no categorical series
    # code (a LightGBM categorical of hundreds of levels made fits 60x slower). 1: the first feature set.
    feature_set: FeatureSet = 2
    # Rolling origins of the backtest: its metrics (and so promotion) pool this many H-day windows.
    backtest_windows: int = Field(default=3, ge=1)
    # Extra point models for the first days of the horizon, with lags from that many days back (a 7-day
    # model sees last week's sales when forecasting the next 7 days); empty = one model for all H days.
    short_horizons: list[Annotated[int, Field(ge=1)]] = Field(default=[7])
    selection_metric: SelectionMetric = "wape"

    @field_validator("quantiles")
    @classmethod
    def _interval(cls, quantiles: list[float]) -> list[float]:
        if len(quantiles) != 2 or not 0 < quantiles[0] < quantiles[1] < 1:
            raise ValueError(f"quantiles must be [low, high] with 0 < low < high < 1 (got {quantiles})")
        return quantiles

    @property
    def resolved(self) -> bool:
        """True once objective is a concrete one (``backtest`` resolves "auto")."""
        return self.objective != AUTO

    def model_horizons(self) -> tuple[int, ...]:
        """Horizons of the point models: the short ones below H, then H itself."""
        return (*sorted({h for h in self.short_horizons if h < self.horizon}), self.horizon)

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
