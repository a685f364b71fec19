"""Drift statistics checked against hand-computed numbers (each derivation is in a comment)."""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from hashiramart_assets.monitoring.drift import (
    DriftInputError,
    DriftThresholds,
    bin_counts,
    compute_drift,
    population_stability_index,
    psi_bin_cuts,
    psi_from_counts,
)


def _orders(n: int, seed: int, start: str = "2024-04-01", days: int = 28, price_scale: float = 1.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "order_date": pd.Timestamp(start) + pd.to_timedelta(np.arange(n) % days, unit="D"),
            "price": rng.normal(100.0, 10.0, n) * price_scale,
            "quantity": rng.integers(1, 4, n),
            "country": rng.choice(["DE", "GB", "FR"], n, p=[0.5, 0.3, 0.2]),
        }
    )


# ---------------------------------------------------------------------------------------------------- PSI


def test_psi_tiny_example_with_explicit_cut() -> None:
    # One cut at 2 -> bins (-inf, 2] and (2, inf).
    # reference [1, 2, 3, 4]: shares (0.5, 0.5); recent [1, 1, 1, 4]: shares (0.75, 0.25).
    # PSI = (0.75 - 0.5) ln(0.75 / 0.5) + (0.25 - 0.5) ln(0.25 / 0.5) = 0.25 ln 1.5 + 0.25 ln 2 = 0.25 ln 3
    psi = population_stability_index([1, 2, 3, 4], [1, 1, 1, 4], bins=[2.0])
    assert psi == pytest.approx(0.25 * math.log(3), abs=1e-12)
    assert psi == pytest.approx(0.274653, abs=1e-6)


def test_psi_empty_bin_uses_epsilon() -> None:
    # Cut 2.5: reference shares (0.5, 0.5); recent [1, 1] -> (1.0, 0.0), the empty share becomes 1e-4:
    # PSI = (1 - 0.5) ln(1 / 0.5) + (1e-4 - 0.5) ln(1e-4 / 0.5)
    expected = 0.5 * math.log(2) + (1e-4 - 0.5) * math.log(1e-4 / 0.5)
    assert population_stability_index([1, 2, 3, 4], [1, 1], bins=[2.5]) == pytest.approx(expected, rel=1e-12)
    assert psi_from_counts([2, 2], [2, 0], epsilon=1e-4) == pytest.approx(expected, rel=1e-12)


def test_psi_is_symmetric_in_its_formula_and_zero_for_identical_samples() -> None:
    assert psi_from_counts([3, 1], [1, 3]) == pytest.approx(psi_from_counts([1, 3], [3, 1]))
    assert population_stability_index(np.arange(100.0), np.arange(100.0)) == 0.0


def test_psi_bins_cut_at_reference_deciles() -> None:
    # Reference 1..100, 10 bins: lower quantiles at 0.1..0.9 are 10, 20, ..., 90, so each bin holds 10 values;
    # recent values outside the reference range land in the open first/last bins.
    reference = np.arange(1, 101, dtype=float)
    cuts = psi_bin_cuts(reference, bins=10)
    assert cuts.tolist() == [10, 20, 30, 40, 50, 60, 70, 80, 90]
    assert bin_counts(reference, cuts).tolist() == [10] * 10
    assert bin_counts([-1e9, 1e9, np.nan, np.inf], cuts).tolist() == [1] + [0] * 8 + [1]


def test_psi_bins_keep_discrete_values_apart_and_dedupe_ties() -> None:
    # 50 x 1, 30 x 2, 20 x 3: the deciles are 1,1,1,1,1,2,2,2,3 -> unique cuts (1, 2, 3), one bin per value.
    reference = [1] * 50 + [2] * 30 + [3] * 20
    cuts = psi_bin_cuts(reference)
    assert cuts.tolist() == [1, 2, 3]
    assert bin_counts(reference, cuts).tolist() == [50, 30, 20, 0]
    assert psi_bin_cuts([7.0] * 10).tolist() == [7.0]  # constant: bins "<= 7" and "> 7"


# ---------------------------------------------------------------------------------------------------- compute_drift


def test_identical_windows_show_no_drift() -> None:
    frame = _orders(2000, seed=1)
    result = compute_drift(frame, frame.copy(), ["price", "quantity"], ["country"], "order_date", table_name="orders")
    for f in result.features:
        assert not f.drifted, f
    price = result.feature("price")
    assert price.psi == 0.0 and price.ks_stat == 0.0 and price.ks_pvalue == pytest.approx(1.0)
    country = result.feature("country")
    assert country.js_distance == 0.0
    assert country.chi2 == pytest.approx(0.0) and country.chi2_pvalue == pytest.approx(1.0)
    assert country.unseen_categories == () and country.unseen_share == 0.0
    assert result.share_drifted == 0.0 and result.max_psi == 0.0 and not result.has_drift
    assert result.volume is not None and result.volume.ratio == pytest.approx(1.0) and not result.volume.flagged


def test_same_distribution_resampled_is_not_drifted() -> None:
    result = compute_drift(_orders(4000, seed=1), _orders(1000, seed=2), ["price"], ["country"], None)
    assert result.feature("price").psi < 0.1
    assert result.feature("country").js_distance < 0.05
    assert result.drifted_features == []


def test_prices_times_1_25_are_flagged() -> None:
    reference = _orders(4000, seed=1)
    recent = _orders(1000, seed=2, start="2024-04-29", days=7, price_scale=1.25)
    result = compute_drift(reference, recent, ["price", "quantity"], ["country"], "order_date", table_name="orders")
    price = result.feature("price")
    # N(100, 10) vs N(125, 12.5): most recent prices land in the open last decile bin -> PSI far above 0.2.
    assert price.drifted and price.psi > 1.0
    assert price.ks_stat > 0.6 and price.ks_pvalue < 1e-12
    assert price.reasons and "PSI" in price.reasons[0]
    assert not result.feature("quantity").drifted and not result.feature("country").drifted
    assert result.share_drifted == pytest.approx(1 / 3)
    assert result.max_psi == price.psi and result.max_psi_feature == "price"


def test_js_distance_and_chi_square_by_hand() -> None:
    # reference A:3, B:1 -> p = (0.75, 0.25); recent A:1, B:3 -> q = (0.25, 0.75); m = (0.5, 0.5).
    # KL(p||m) = 0.75 log2(1.5) + 0.25 log2(0.5) = KL(q||m); JS divergence = KL(p||m); distance = its sqrt.
    js = math.sqrt(0.75 * math.log2(1.5) + 0.25 * math.log2(0.5))
    # Contingency [[3, 1], [1, 3]], every expected count 2: chi2 = 4 * (1^2 / 2) = 2, dof 1, p = erfc(sqrt(2 / 2)).
    reference = pd.DataFrame({"channel": ["A", "A", "A", "B"]})
    recent = pd.DataFrame({"channel": ["A", "B", "B", "B"]})
    f = compute_drift(reference, recent, [], ["channel"], None).feature("channel")
    assert f.js_distance == pytest.approx(js, abs=1e-12) and f.js_distance == pytest.approx(0.434421, abs=1e-6)
    assert f.chi2 == pytest.approx(2.0) and f.chi2_pvalue == pytest.approx(math.erfc(1.0))
    assert f.drifted and "JS distance" in f.reasons[0]


def test_new_category_is_unseen_and_flags_the_feature() -> None:
    # 1.5% of recent rows are "NL": JS distance stays ~0.087 < 0.1, so the unseen-share rule alone flags it.
    reference = pd.DataFrame({"country": ["DE"] * 500 + ["GB"] * 500})
    recent = pd.DataFrame({"country": ["DE"] * 492 + ["GB"] * 493 + ["NL"] * 15})
    result = compute_drift(reference, recent, [], ["country"], None)
    f = result.feature("country")
    assert f.js_distance < 0.1
    assert [(u.category, u.rows, u.share) for u in f.unseen_categories] == [("NL", 15, 0.015)]
    assert f.unseen_share == pytest.approx(0.015)
    assert f.drifted and any("unseen" in r for r in f.reasons)
    assert result.unseen_categories == {"country": f.unseen_categories}


def test_rare_unseen_category_is_listed_but_below_threshold() -> None:
    reference = pd.DataFrame({"country": ["DE"] * 500 + ["GB"] * 500})
    recent = pd.DataFrame({"country": ["DE"] * 497 + ["GB"] * 498 + ["NL"] * 5})  # 0.5% < 1%
    f = compute_drift(reference, recent, [], ["country"], None).feature("country")
    assert f.unseen_names == ["NL"] and not f.drifted
    strict = DriftThresholds(unseen_share_threshold=0.005)
    assert compute_drift(reference, recent, [], ["country"], None, thresholds=strict).feature("country").drifted


def test_single_category_chi_square_is_no_evidence() -> None:
    f = compute_drift(pd.DataFrame({"c": ["x"] * 5}), pd.DataFrame({"c": ["x"] * 7}), [], ["c"], None).feature("c")
    assert (f.chi2, f.chi2_pvalue, f.js_distance, f.drifted) == (0.0, 1.0, 0.0, False)


def test_nans_are_dropped_and_counted() -> None:
    reference = pd.DataFrame({"price": [1.0, 2.0, np.nan, 4.0], "country": ["DE", None, "GB", "GB"]})
    recent = pd.DataFrame({"price": [1.0, np.nan, np.nan, 4.0], "country": ["DE", "GB", None, None]})
    result = compute_drift(reference, recent, ["price"], ["country"], None)
    price, country = result.feature("price"), result.feature("country")
    assert (price.ref_rows, price.cur_rows, price.ref_nan, price.cur_nan) == (4, 4, 1, 2)
    assert (country.ref_nan, country.cur_nan) == (1, 2)
    assert country.unseen_categories == ()


def test_feature_with_no_values_in_recent_window_is_drifted() -> None:
    reference = pd.DataFrame({"price": [1.0, 2.0, 3.0]})
    recent = pd.DataFrame({"price": [np.nan, np.nan]})
    f = compute_drift(reference, recent, ["price"], [], None).feature("price")
    assert f.drifted and f.psi is None and f.cur_nan == 2
    assert f.reasons == ("no non-missing values in the recent window",)


# ---------------------------------------------------------------------------------------------------- volume


def test_volume_ratio_and_zero_days() -> None:
    # Reference: 10 rows on each of 28 days -> 10/day. Recent window 7 declared days, 4 rows on 5 of them:
    # 20 / 7 = 2.857/day, ratio 0.2857 < 0.5 -> flagged; 2024-05-01 and 2024-05-03 have no rows.
    reference = pd.DataFrame({"d": np.repeat(pd.date_range("2024-04-01", "2024-04-28"), 10), "x": 1.0})
    days = [date(2024, 4, 29), date(2024, 4, 30), date(2024, 5, 2), date(2024, 5, 4), date(2024, 5, 5)]
    recent = pd.DataFrame({"d": np.repeat(pd.to_datetime(days), 4), "x": 1.0})
    result = compute_drift(
        reference, recent, ["x"], [], "d", reference_window=("2024-04-01", "2024-04-28"),
        recent_window=("2024-04-29", "2024-05-05"),
    )  # fmt: skip
    v = result.volume
    assert v is not None
    assert (v.reference_days, v.recent_days) == (28, 7)
    assert v.reference_daily_mean == pytest.approx(10.0) and v.recent_daily_mean == pytest.approx(20 / 7)
    assert v.ratio == pytest.approx(20 / 7 / 10) and v.flagged
    assert v.recent_zero_days == (date(2024, 5, 1), date(2024, 5, 3)) and v.reference_zero_days == ()
    assert result.has_drift and not result.drifted_features
    assert str(result.recent_range) == "2024-04-29 .. 2024-05-05"


def test_volume_range_inferred_from_data_and_high_ratio_flagged() -> None:
    reference = pd.DataFrame({"d": ["2024-04-01", "2024-04-03"], "x": [1.0, 2.0]})  # 2 rows over 3 days
    recent = pd.DataFrame({"d": ["2024-04-04"] * 3, "x": [1.0, 2.0, 3.0]})  # 3 rows in 1 day: ratio 3 / (2/3)
    v = compute_drift(reference, recent, ["x"], [], "d").volume
    assert v is not None
    assert v.ratio == pytest.approx(4.5) and v.flagged
    assert v.reference_zero_days == (date(2024, 4, 2),)


# ---------------------------------------------------------------------------------------------------- input errors


@pytest.mark.parametrize("empty_window", ["reference", "recent"])
def test_empty_window_raises_naming_window_range_and_table(empty_window: str) -> None:
    full = _orders(100, seed=1)
    empty = full.iloc[0:0]
    reference, recent = (empty, full) if empty_window == "reference" else (full, empty)
    window = ("2024-04-01", "2024-04-28") if empty_window == "reference" else ("2024-04-29", "2024-05-05")
    kwargs = {f"{empty_window}_window": window}
    with pytest.raises(DriftInputError) as info:
        compute_drift(reference, recent, ["price"], ["country"], "order_date", table_name="orders", **kwargs)
    message = str(info.value)
    other = "recent" if empty_window == "reference" else "reference"
    assert f"the {empty_window} window" in message and f"the {other} window" not in message
    assert f"{window[0]} .. {window[1]}" in message and "'orders'" in message
    assert isinstance(info.value, ValueError)


def test_both_windows_empty_and_frame_without_columns() -> None:
    with pytest.raises(DriftInputError, match=r"reference window.*and the recent window.*have no rows"):
        compute_drift(pd.DataFrame(), pd.DataFrame(), ["price"], [], None, table_name="orders")


def test_missing_column_and_non_numeric_values_raise() -> None:
    frame = _orders(10, seed=1)
    with pytest.raises(DriftInputError, match=r"recent window .* lacks columns \['price'\]"):
        compute_drift(frame, frame.drop(columns="price"), ["price"], [], None)
    with pytest.raises(DriftInputError, match="non-numeric"):
        compute_drift(frame, frame, ["country"], [], None)
    with pytest.raises(DriftInputError, match="both numeric and categorical"):
        compute_drift(frame, frame, ["price"], ["price"], None)


def test_threshold_validation() -> None:
    with pytest.raises(ValueError, match="max_volume_ratio"):
        DriftThresholds(min_volume_ratio=2.0, max_volume_ratio=1.0)
    with pytest.raises(ValueError, match="psi_bins"):
        DriftThresholds(psi_bins=0)


# ---------------------------------------------------------------------------------------------------- outputs


def test_to_dict_is_strict_json_and_feature_table_has_one_row_per_feature() -> None:
    reference = pd.DataFrame({"d": ["2024-04-01"] * 4, "price": [1.0, 2.0, 3.0, 4.0], "c": ["a", "a", "b", "b"]})
    recent = pd.DataFrame({"d": ["2024-04-02"] * 3, "price": [np.nan] * 3, "c": ["a", "z", "z"]})
    result = compute_drift(reference, recent, ["price"], ["c"], "d", table_name="t")
    payload = json.loads(json.dumps(result.to_dict(include_distributions=True), allow_nan=False))
    assert payload["n_features"] == 2 and payload["drifted_features"] == ["price", "c"]
    assert payload["unseen_categories"] == {"c": [{"category": "z", "rows": 2, "share": pytest.approx(2 / 3)}]}
    assert payload["features"][0]["psi"] is None and payload["volume"]["ratio"] == pytest.approx(0.75)
    assert payload["recent_range"] == {"start": "2024-04-02", "end": "2024-04-02", "days": 1}

    table = result.feature_table()
    assert table["feature"].tolist() == ["price", "c"]
    assert table.loc[1, "unseen_categories"] == ["z"] and table["drifted"].tolist() == [True, True]
    assert table["psi"].dtype == "float64" and math.isnan(table.loc[0, "psi"])
