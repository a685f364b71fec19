"""Metrics and the seasonal-naive baseline on tiny examples whose expected values are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hashiramart_assets.ml.forecast import (
    ForecasterParams,
    interval_coverage,
    mape_nonzero,
    rmse,
    rmspe,
    seasonal_naive,
    wape,
)
from hashiramart_assets.ml.forecast.history import prepare_history

Y = [10.0, 0.0, 5.0, 20.0]
YHAT = [8.0, 1.0, 5.0, 25.0]


def test_wape() -> None:
    # |errors| = 2, 1, 0, 5 -> 8; sum|y| = 35; 8 / 35
    assert wape(Y, YHAT) == pytest.approx(8 / 35)
    assert math.isnan(wape([0.0, 0.0], [1.0, 2.0]))


def test_rmse() -> None:
    # squared errors 4, 1, 0, 25 -> mean 30 / 4 = 7.5 -> sqrt(7.5)
    assert rmse(Y, YHAT) == pytest.approx(math.sqrt(7.5))


def test_rmspe_ignores_zero_actuals() -> None:
    # y > 0 only: (2/10)^2 = 0.04, (0/5)^2 = 0, (5/20)^2 = 0.0625 -> mean 0.1025 / 3 -> sqrt(0.0341667)
    assert rmspe(Y, YHAT) == pytest.approx(math.sqrt(0.1025 / 3))


def test_mape_nonzero() -> None:
    # y > 0 only: 2/10 = 0.2, 0/5 = 0, 5/20 = 0.25 -> 0.45 / 3 = 0.15
    assert mape_nonzero(Y, YHAT) == pytest.approx(0.15)
    assert math.isnan(mape_nonzero([0.0], [3.0]))


def test_interval_coverage_counts_bounds_as_inside() -> None:
    # 10 in [8, 12] yes; 0 in [1, 2] no; 5 in [5, 5] yes (bounds count); 20 in [21, 30] no -> 2 / 4
    assert interval_coverage(Y, [8.0, 1.0, 5.0, 21.0], [12.0, 2.0, 5.0, 30.0]) == pytest.approx(0.5)


def test_metrics_reject_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="shape"):
        wape([1.0, 2.0], [1.0])


def test_seasonal_naive_same_weekday_same_promo_then_weekday_then_zero() -> None:
    # Jan 1 2024 is a Monday. Sales = day of month; Monday Jan 8 is on promo; Tuesday Jan 2 is closed.
    dates = pd.date_range("2024-01-01", "2024-01-14", freq="D")
    history, _ = prepare_history(
        pd.DataFrame(
            {
                "series_id": "a",
                "date": dates,
                "sales": np.arange(1.0, 15.0),
                "promo": (dates == "2024-01-08").astype(float),
                "open": (dates != "2024-01-02").astype(float),
            }
        )
    )
    targets = pd.DataFrame(
        {
            "series_id": ["a", "a", "a", "a", "b"],
            "date": pd.to_datetime(["2024-01-15", "2024-01-22", "2024-01-16", "2024-01-09", "2024-01-15"]),
            "promo": [1.0, 0.0, 1.0, 0.0, 0.0],
        }
    )
    got = seasonal_naive(history, targets, horizon=7)
    # Mon 15 promo: latest promo Monday <= Jan 8 is Jan 8 -> 8.
    # Mon 22 no promo: Mondays <= Jan 15 without promo: Jan 1 (Jan 8 had promo) -> 1.
    # Tue 16 promo: no promo Tuesday -> any Tuesday <= Jan 9 -> Jan 9 -> 9.
    # Tue 9: the only Tuesday <= Jan 2 is Jan 2, closed, not a candidate -> 0. Unknown series b -> 0.
    assert got.tolist() == [8.0, 1.0, 9.0, 0.0, 0.0]


def test_params_round_trip_and_unknown_key() -> None:
    params = ForecasterParams(horizon=14, objective="poisson", quantiles=(0.05, 0.95))
    assert ForecasterParams.from_dict(params.to_dict()) == params
    assert params.to_dict()["quantiles"] == [0.05, 0.95]
    with pytest.raises(ValueError, match="num_leafs"):
        ForecasterParams.from_dict({"num_leafs": 8})
    with pytest.raises(ValueError, match="objective"):
        ForecasterParams(objective="mae-ish")
    booster = params.lightgbm_params()
    assert booster["deterministic"] is True and booster["force_col_wise"] is True and booster["seed"] == 42
