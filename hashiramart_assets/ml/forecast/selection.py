"""Choosing the objective and target transform ("auto") on a validation window, never on a scored one.

Why by validation: no single objective wins on every kind of data. Tweedie on raw units suits
intermittent item demand; squared error on log1p(sales) suits store sales, whose errors are judged
relative to the level (RMSPE). Each candidate of ``params.AUTO_CANDIDATES`` is trained on the days up to
``end - H`` and scored on the H days up to ``end`` by ``params.selection_metric``; the best one is used for
every later window and the final model. ``backtest`` passes an ``end`` before its first scored window,
so the choice never sees a day it is judged on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hashiramart_assets.ml.forecast.columns import DATE, IMPUTED, OPEN, SALES, SERIES
from hashiramart_assets.ml.forecast.covariates import Covariate
from hashiramart_assets.ml.forecast.metrics import rmse, rmspe, wape
from hashiramart_assets.ml.forecast.params import AUTO_CANDIDATES, ForecasterParams

SCORERS = {"wape": wape, "rmse": rmse, "rmspe": rmspe}
FALLBACK = AUTO_CANDIDATES[0]


@dataclass(frozen=True)
class Selection:
    """The resolved params, each candidate's validation score ("objective/transform" -> score) and how."""

    params: ForecasterParams
    scores: dict[str, float] = field(default_factory=dict)
    how: str = "validation"


def label(objective: str, transform: str) -> str:
    return f"{objective}/{transform}"


def choose_target(history: pd.DataFrame, params: ForecasterParams, covariates: tuple[Covariate, ...] = (),
                  end: pd.Timestamp | None = None) -> Selection:
    """Resolve ``objective="auto"``: the candidate with the best validation score on (end - H, end].

    ``end`` defaults to the last day of ``history``. With too little history before the validation window
    (or no open day in it) the first candidate is used and ``how`` says so.
    """
    from hashiramart_assets.ml.forecast.backtest import required_days
    from hashiramart_assets.ml.forecast.model import predict, train

    if params.resolved:
        return Selection(params, how="given")
    horizon = params.horizon
    end = pd.Timestamp(history[DATE].max()) if end is None else pd.Timestamp(end)
    start = pd.Timestamp(history[DATE].min())
    fallback = params.replace(objective=FALLBACK[0], target_transform=FALLBACK[1])
    if (end - start).days + 1 < required_days(horizon):
        return Selection(fallback, how="first candidate (too little history for a validation window)")
    origin = end - pd.Timedelta(days=horizon)
    past = history.loc[history[DATE] <= origin].reset_index(drop=True)
    window = history.loc[(history[DATE] > origin) & (history[DATE] <= end)].reset_index(drop=True)
    scored = window.loc[(window[OPEN] > 0) & ~window[IMPUTED].astype(bool)]
    if scored.empty:
        return Selection(fallback, how="first candidate (no open day in the validation window)")
    scorer = SCORERS[params.selection_metric]
    scores: dict[str, float] = {}
    best: tuple[float, ForecasterParams] | None = None
    for objective, transform in AUTO_CANDIDATES:
        # One H-day model per candidate: the choice is about the target, not about the short models.
        candidate = params.replace(objective=objective, target_transform=transform, short_horizons=[])
        forecaster = train(past, candidate, covariates=covariates, intervals=False)
        forecasts = predict(forecaster, past, horizon, future=window)
        joined = scored[[SERIES, DATE, SALES]].merge(forecasts, on=[SERIES, DATE], how="inner")
        value = scorer(joined[SALES].to_numpy("float64"), joined["forecast"].to_numpy("float64"))
        scores[label(objective, transform)] = value
        if np.isfinite(value) and (best is None or value < best[0]):
            best = (value, params.replace(objective=objective, target_transform=transform))
    chosen = best[1] if best is not None else fallback
    return Selection(chosen, scores, how=f"validation window {(origin + pd.Timedelta(days=1)).date()}..{end.date()}")
