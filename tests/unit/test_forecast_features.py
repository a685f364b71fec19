"""Direct-horizon features: hand-checked values, and proof that no sales from the last H days leak in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hashiramart_assets.ml.forecast import build_features, feature_columns
from hashiramart_assets.ml.forecast.features import lags_for, weekly_anchor
from hashiramart_assets.ml.forecast.history import prepare_history

H = 28


def make_history(days: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    frames = [
        pd.DataFrame(
            {
                "series_id": name,
                "date": dates,
                "sales": rng.poisson(5 + 3 * i, days).astype(float),
                "promo": rng.integers(0, 2, days).astype(float),
                "price": 10.0 + i,
            }
        )
        for i, name in enumerate(("a", "b"))
    ]
    return prepare_history(pd.concat(frames, ignore_index=True))[0]


def test_lag_choice_follows_horizon() -> None:
    assert weekly_anchor(28) == 28 and weekly_anchor(10) == 14
    assert lags_for(28) == [28, 35, 42, 364]
    assert lags_for(10) == [10, 14, 21, 28, 364]
    assert all(k >= 10 for k in lags_for(10))


def test_feature_values_by_hand() -> None:
    # One series whose sales equal the day index 0, 1, 2, ...: every feature is easy to compute by hand.
    history, _ = prepare_history(
        pd.DataFrame({"series_id": "s", "date": pd.date_range("2024-01-01", periods=60), "sales": np.arange(60.0)})
    )
    features = build_features(history, H, {"s": 0})
    row = features.iloc[40]  # 2024-02-10, a Saturday
    assert row["lag_28"] == 12 and row["lag_35"] == 5 and np.isnan(row["lag_42"])
    assert row["roll_mean_7"] == pytest.approx(9.0)  # days 6..12
    assert row["roll_mean_28"] == pytest.approx(6.0)  # days 0..12 (shorter window at the start)
    assert row["roll_std_7"] == pytest.approx(np.std(np.arange(6.0, 13.0), ddof=1))
    assert row["wday_mean_4"] == pytest.approx((12 + 5) / 2)  # days 12 and 5; 40-42 < 0
    assert row["level"] == pytest.approx(6.0)  # mean of days 0..12
    assert row["day_of_week"] == 5 and row["is_weekend"] == 1 and row["month"] == 2 and row["day_of_month"] == 10
    assert features.iloc[27][["lag_28", "roll_mean_7", "level"]].isna().all()  # nothing known yet
    assert list(features.columns) == feature_columns(H)


def test_closed_days_are_unknown_not_zero_in_sales_features() -> None:
    history, _ = prepare_history(
        pd.DataFrame(
            {"series_id": "s", "date": pd.date_range("2024-01-01", periods=40), "sales": np.full(40, 6.0),
             "open": np.where(np.arange(40) == 5, 0.0, 1.0)}
        )
    )
    history.loc[5, "sales"] = 0.0
    features = build_features(history, H, {"s": 0})
    assert np.isnan(features.loc[33, "lag_28"])  # day 5 was closed
    assert features.loc[39, "roll_mean_7"] == pytest.approx(6.0)  # days 5..11 without the closed day


def test_features_of_a_day_use_no_sales_from_the_last_h_days() -> None:
    history = make_history()
    codes = {"a": 0, "b": 1}
    before = build_features(history, H, codes)
    target = history.index[(history["series_id"] == "a") & (history["date"] == pd.Timestamp("2024-03-20"))][0]
    # Rewrite every sale of the last H - 1 days before the target, the target itself, and all later days.
    changed = history.copy()
    recent = changed["date"] > pd.Timestamp("2024-03-20") - pd.Timedelta(days=H)
    changed.loc[recent, "sales"] = changed.loc[recent, "sales"] * 7 + 100
    after = build_features(changed, H, codes)
    pd.testing.assert_series_equal(before.loc[target], after.loc[target])
    # The test can fail: changing the day exactly H days back does move the features.
    edge = changed["date"] == pd.Timestamp("2024-03-20") - pd.Timedelta(days=H)
    changed.loc[edge, "sales"] += 50
    moved = build_features(changed, H, codes)
    assert moved.loc[target, "lag_28"] == before.loc[target, "lag_28"] + 50
    assert not moved.loc[target].equals(before.loc[target])


def test_future_covariates_of_the_target_day_are_used() -> None:
    history = make_history()
    changed = history.copy()
    changed.loc[50, ["promo", "price"]] = [1.0, 99.0]
    features = build_features(changed, H, {"a": 0, "b": 1})
    assert features.loc[50, "promo"] == 1.0 and features.loc[50, "price"] == 99.0
    assert features.loc[50, "price_rel"] == pytest.approx(99.0 / 10.0)  # series a's earlier price is 10
