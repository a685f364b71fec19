"""Target encodings, proximity features and covariate detection: small examples worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hashiramart_assets.ml.forecast.covariates import CATEGORICAL, NUMERIC, Covariate, describe, encode
from hashiramart_assets.ml.forecast.encodings import TargetEncodings, apply_encodings, fit_encodings
from hashiramart_assets.ml.forecast.features import days_since, days_to, positions, run_day
from hashiramart_assets.ml.forecast.params import ForecasterParams


def rows() -> pd.DataFrame:
    """Sales e^k - 1, so log1p(sales) = k: a: Mon k=2, Mon k=4 (promo), Tue k=3; b: Mon k=1."""
    return pd.DataFrame({
        "series_id": ["a", "a", "a", "b"],
        "date": pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-02", "2024-01-01"]),  # Mon, Mon, Tue, Mon
        "sales": [math.e ** 2 - 1, math.e ** 4 - 1, math.e ** 3 - 1, math.e - 1],
        "promo": [0.0, 1.0, 0.0, 0.0],
    })


def test_encodings_without_shrinkage_are_plain_means_of_log_sales() -> None:
    enc = fit_encodings(rows(), prior=0.0)
    assert enc.global_level == pytest.approx(2.5)  # (2 + 4 + 3 + 1) / 4
    assert enc.level == pytest.approx({"a": 3.0, "b": 1.0})
    # deviations from the series level: a -1 (Mon), +1 (Mon, promo), 0 (Tue); b 0 (Mon)
    assert enc.wday[("a", 0)] == pytest.approx(0.0) and enc.wday[("a", 1)] == pytest.approx(0.0)
    assert enc.promo[("a", 0)] == pytest.approx(-0.5) and enc.promo[("a", 1)] == pytest.approx(1.0)
    assert enc.global_promo == pytest.approx({0: -1 / 3, 1: 1.0})


def test_encodings_shrink_towards_the_global_effect() -> None:
    enc = fit_encodings(rows(), prior=2.0)
    assert enc.level["a"] == pytest.approx((9 + 2 * 2.5) / (3 + 2))  # 2.8
    assert enc.level["b"] == pytest.approx((1 + 2 * 2.5) / (1 + 2))  # 2.0
    # deviations now: a -0.8, +1.2, +0.2; b -1.0. Global Monday deviation (-0.8 + 1.2 - 1) / 3 = -0.2
    assert enc.global_wday[0] == pytest.approx(-0.2) and enc.global_wday[1] == pytest.approx(0.2)
    assert enc.wday[("a", 0)] == pytest.approx((-0.8 + 1.2 + 2 * -0.2) / (2 + 2))  # 0.0
    assert enc.wday[("b", 0)] == pytest.approx((-1.0 + 2 * -0.2) / (1 + 2))


def test_applying_encodings_falls_back_to_global_values_for_unknown_series_and_keys() -> None:
    enc = fit_encodings(rows(), prior=0.0)
    out = apply_encodings(enc, np.array(["a", "new", "b"]),
                          pd.DatetimeIndex(["2024-01-15", "2024-01-16", "2024-01-16"]), np.array([1.0, 0.0, 1.0]))
    assert out["te_level"].tolist() == pytest.approx([3.0, 2.5, 1.0])
    # "new" Tuesday: global Tuesday deviation (0.0); b never had a Tuesday nor a promo: the global ones
    assert out["te_wday"].tolist() == pytest.approx([0.0, enc.global_wday[1], enc.global_wday[1]])
    assert out["te_promo"].tolist() == pytest.approx([1.0, -1 / 3, 1.0])
    restored = TargetEncodings.from_dict(enc.to_dict())
    assert restored == enc


def test_proximity_counts_days_within_each_series_only() -> None:
    pos = positions(np.array(["a"] * 6 + ["b"] * 4))
    flag = np.array([0, 1, 0, 0, 1, 1, 1, 0, 0, 0], dtype=bool)
    # a: flags on rows 1, 4, 5. Row 4 is 3 days after row 1; b's first row is flagged but a's row 5 is not b's.
    assert days_since(flag, pos, cap=3).tolist() == [3, 3, 1, 2, 3, 1, 3, 1, 2, 3]
    assert days_to(flag, pos, cap=3).tolist() == [1, 3, 2, 1, 1, 3, 3, 3, 3, 3]
    assert run_day(flag, pos).tolist() == [0, 1, 0, 0, 1, 2, 1, 0, 0, 0]


@pytest.mark.parametrize(
    ("cells", "header", "expected"),
    [
        (["1", "0", "1", "0"], "SchoolHoliday", (NUMERIC, True)),
        (["a", "c", "a", "c"], "StoreType", (CATEGORICAL, True)),
        (["512", "498", "", "530"], "Customers", (NUMERIC, False)),  # an outcome: only its past is used
        (["5", "6", "7", "1"], "DayOfWeek", "derived from the date"),
        (["x", "x", "", "x"], "notes", "constant"),
        (["first", "second", "third", "fourth"], "comment", "text with 4 distinct values in 4 filled cells "
                                                           "(free text or an identifier)"),
    ],
)
def test_columns_become_covariates_by_content_and_name(cells: list[str], header: str, expected: object) -> None:
    result = describe(pd.Series(cells, dtype=object), header)
    if isinstance(expected, str):
        assert result == expected
    else:
        assert isinstance(result, Covariate) and (result.kind, result.known_ahead) == expected


def test_categories_are_coded_in_sorted_order_and_unseen_values_are_missing() -> None:
    covariate = describe(pd.Series(["c", "a", "c", "a", "b", "b"]), "Assortment")
    assert isinstance(covariate, Covariate) and covariate.categories == ("a", "b", "c")
    codes = encode(pd.Series(["b", "z", None, "a"]), covariate)
    assert codes[0] == 1.0 and codes[3] == 0.0 and np.isnan(codes[1]) and np.isnan(codes[2])


def test_params_of_a_model_saved_before_feature_set_2_keep_their_meaning() -> None:
    old = {"horizon": 28, "num_leaves": 31, "learning_rate": 0.1, "n_estimators": 150, "min_data_in_leaf": 20,
           "feature_fraction": 0.8, "lambda_l2": 1.0, "objective": "tweedie", "tweedie_variance_power": 1.2,
           "quantiles": [0.1, 0.9], "seed": 42, "num_threads": 2}
    params = ForecasterParams.from_dict(old)
    assert (params.feature_set, params.target_transform, params.backtest_windows, params.short_horizons) == (
        1, "none", 1, [])
    assert params.model_horizons() == (28,)
    new = ForecasterParams()
    assert new.feature_set == 2 and new.objective == "auto" and new.model_horizons() == (7, 28)
    assert ForecasterParams.from_dict(new.to_dict()) == new
    with pytest.raises(ValueError, match="must be resolved"):
        new.lightgbm_params()
