"""Repeat/explore breakdown on tiny lists whose expected values are worked out by hand in the comments.

All hand examples use k = 3. Discounts: 1/log2(rank + 1), so rank 1 -> 1, rank 2 -> 1/log2(3) = 0.63093,
rank 3 -> 1/log2(4) = 0.5. Ideal DCG of 1 hit = 1, of 2 hits = 1.63093, of 3 hits = 2.13093.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hashiramart_assets.ml.recommender import metrics as m
from hashiramart_assets.ml.recommender.repeat_explore import RepeatExploreReport, repeat_explore

K = 3
# customer 1: only repeat truth. H = {a, b, c}, T = {a, b} -> T_rep = {a, b}, T_exp = {}
# customer 2: only explore truth. H = {a}, T = {y, z} -> T_rep = {}, T_exp = {y, z}
# customer 3: mixed. H = {b, c}, T = {c, w} -> T_rep = {c}, T_exp = {w}
# customer 4: no recommendations at all. H = {a}, T = {a, v} -> T_rep = {a}, T_exp = {v}
TOP_K = {
    1: ["a", "x", "b", "c"],  # "c" is at rank 4, beyond k: it counts for nothing
    2: ["a", "y", "q"],
    3: ["w", "b", "c"],
    99: ["a", "b", "c"],  # not in the truth: ignored
}
TRUTH = {1: {"a", "b"}, 2: {"y", "z"}, 3: {"c", "w"}, 4: {"a", "v"}}
HISTORY = {1: {"a", "b", "c"}, 2: {"a"}, 3: {"b", "c"}, 4: {"a"}, 99: {"a"}}


def _only(customer: int) -> RepeatExploreReport:
    return repeat_explore({customer: TOP_K[customer]} if customer in TOP_K else {}, {customer: TRUTH[customer]},
                          HISTORY, k=K)


def _assert_unscored(report: RepeatExploreReport, part: str) -> None:
    """No customer had this part of the basket: NaN figures, count 0."""
    for metric in ("precision", "recall", "ndcg"):
        assert math.isnan(getattr(report, f"{part}_{metric}_at_k")), metric
    assert getattr(report, f"{part}_customers") == 0


def test_customer_with_only_repeat_truth():
    report = _only(1)
    # [a, x, b] against T_rep = {a, b}: hits at ranks 1 and 3
    # precision 2/3; recall 2/2 = 1
    # DCG = 1 + 0.5 = 1.5; ideal of min(3, 2) = 2 hits = 1.63093 -> NDCG = 0.91972
    assert report.repeat_precision_at_k == pytest.approx(2 / 3)
    assert report.repeat_recall_at_k == pytest.approx(1.0)
    assert report.repeat_ndcg_at_k == pytest.approx(0.91972, abs=1e-5)
    assert report.repeat_customers == 1
    # no explore truth -> nobody to score
    _assert_unscored(report, "explore")
    # a and b of the top 3 are in H ("c" at rank 4 is cut) -> 2/3; the whole basket is repeat -> 1
    assert report.list_repeat_share == pytest.approx(2 / 3)
    assert report.truth_repeat_share == pytest.approx(1.0)


def test_customer_with_only_explore_truth():
    report = _only(2)
    # [a, y, q] against T_exp = {y, z}: hit at rank 2
    # precision 1/3; recall 1/2; DCG = 0.63093, ideal of 2 hits = 1.63093 -> NDCG = 0.38685
    assert report.explore_precision_at_k == pytest.approx(1 / 3)
    assert report.explore_recall_at_k == pytest.approx(0.5)
    assert report.explore_ndcg_at_k == pytest.approx(0.38685, abs=1e-5)
    assert report.explore_customers == 1
    _assert_unscored(report, "repeat")
    # "a" is a repeat slot that earns nothing for explore -> list share 1/3; basket has no repeat -> 0
    assert report.list_repeat_share == pytest.approx(1 / 3)
    assert report.truth_repeat_share == pytest.approx(0.0)


def test_customer_with_mixed_truth():
    report = _only(3)
    # [w, b, c]; T_rep = {c}: hit at rank 3 -> precision 1/3, recall 1, NDCG = 0.5 / 1 = 0.5
    assert report.repeat_precision_at_k == pytest.approx(1 / 3)
    assert report.repeat_recall_at_k == pytest.approx(1.0)
    assert report.repeat_ndcg_at_k == pytest.approx(0.5)
    # T_exp = {w}: hit at rank 1 -> precision 1/3, recall 1, NDCG 1
    assert report.explore_precision_at_k == pytest.approx(1 / 3)
    assert report.explore_recall_at_k == pytest.approx(1.0)
    assert report.explore_ndcg_at_k == pytest.approx(1.0)
    assert (report.repeat_customers, report.explore_customers) == (1, 1)
    # precision divides by k, so the two parts add up to the overall precision: 1/3 + 1/3 = 2/3
    overall = m.precision_at_k(TOP_K[3], TRUTH[3], K)
    assert report.repeat_precision_at_k + report.explore_precision_at_k == pytest.approx(overall)
    # b, c in H -> 2/3 of the slots; |T_rep| / |T| = 1/2
    assert report.list_repeat_share == pytest.approx(2 / 3)
    assert report.truth_repeat_share == pytest.approx(0.5)


def test_customer_missing_from_top_k_scores_zero_but_counts():
    report = _only(4)
    # no list: T_rep = {a} and T_exp = {v} both qualify and score 0
    assert report.repeat_customers == 1
    assert report.explore_customers == 1
    for value in (report.repeat_precision_at_k, report.repeat_recall_at_k, report.repeat_ndcg_at_k,
                  report.explore_precision_at_k, report.explore_recall_at_k, report.explore_ndcg_at_k):
        assert value == 0.0
    assert report.list_repeat_share == 0.0
    assert report.truth_repeat_share == pytest.approx(0.5)


def test_means_over_the_qualifying_customers():
    report = repeat_explore(TOP_K, TRUTH, HISTORY, k=K)
    # repeat: customers 1, 3, 4 (customer 2 has no repeat truth)
    #   precision (2/3 + 1/3 + 0) / 3 = 1/3; recall (1 + 1 + 0) / 3 = 2/3
    #   NDCG (0.91972 + 0.5 + 0) / 3 = 0.47324
    assert report.repeat_customers == 3
    assert report.repeat_precision_at_k == pytest.approx(1 / 3)
    assert report.repeat_recall_at_k == pytest.approx(2 / 3)
    assert report.repeat_ndcg_at_k == pytest.approx(0.47324, abs=1e-5)
    # explore: customers 2, 3, 4 (customer 1 has no explore truth)
    #   precision (1/3 + 1/3 + 0) / 3 = 2/9; recall (1/2 + 1 + 0) / 3 = 1/2
    #   NDCG (0.38685 + 1 + 0) / 3 = 0.46228
    assert report.explore_customers == 3
    assert report.explore_precision_at_k == pytest.approx(2 / 9)
    assert report.explore_recall_at_k == pytest.approx(0.5)
    assert report.explore_ndcg_at_k == pytest.approx(0.46228, abs=1e-5)
    # list share over all 4 customers (99 is not in the truth): (2/3 + 1/3 + 2/3 + 0) / 4 = 5/12
    assert report.list_repeat_share == pytest.approx(5 / 12)
    # truth share: (1 + 0 + 1/2 + 1/2) / 4 = 1/2
    assert report.truth_repeat_share == pytest.approx(0.5)


def test_nan_when_nothing_qualifies():
    for truth in ({}, {1: set(), 2: set()}):  # no customers, or only empty baskets (skipped, as in the frames)
        report = repeat_explore(TOP_K, truth, HISTORY, k=K)
        assert (report.repeat_customers, report.explore_customers) == (0, 0)
        assert all(math.isnan(value) for name, value in report.metrics().items() if not name.startswith("n_"))


def test_customer_missing_from_history_is_all_explore():
    # no history for customer 5 -> T_exp = T = {a, b}; [b, q, a] hits at ranks 1 and 3
    report = repeat_explore({5: ["b", "q", "a"]}, {5: {"a", "b"}}, {}, k=K)
    assert report.repeat_customers == 0
    assert report.explore_customers == 1
    assert report.explore_ndcg_at_k == pytest.approx(0.91972, abs=1e-5)  # (1 + 0.5) / 1.63093
    assert report.list_repeat_share == 0.0
    assert report.truth_repeat_share == 0.0


def test_k_must_be_positive():
    with pytest.raises(ValueError, match="k must be at least 1"):
        repeat_explore(TOP_K, TRUTH, HISTORY, k=0)


def test_metrics_key_names():
    report = repeat_explore(TOP_K, TRUTH, HISTORY, k=K)
    assert report.metrics() == {
        "repeat_precision_at_10": report.repeat_precision_at_k,
        "repeat_recall_at_10": report.repeat_recall_at_k,
        "repeat_ndcg_at_10": report.repeat_ndcg_at_k,
        "n_repeat_customers": 3.0,
        "explore_precision_at_10": report.explore_precision_at_k,
        "explore_recall_at_10": report.explore_recall_at_k,
        "explore_ndcg_at_10": report.explore_ndcg_at_k,
        "n_explore_customers": 3.0,
        "list_repeat_share_at_10": report.list_repeat_share,
        "truth_repeat_share": report.truth_repeat_share,
    }
    assert set(report.metrics("_at_3")) == {
        "repeat_precision_at_3", "repeat_recall_at_3", "repeat_ndcg_at_3", "n_repeat_customers",
        "explore_precision_at_3", "explore_recall_at_3", "explore_ndcg_at_3", "n_explore_customers",
        "list_repeat_share_at_3", "truth_repeat_share",
    }
    assert all(isinstance(value, float) for value in report.metrics().values())


def _random_case(seed: int) -> tuple[dict[int, list[str]], dict[int, set[str]]]:
    rng = np.random.default_rng(seed)
    products = [f"p{i}" for i in range(40)]
    lists, truth = {}, {}
    for customer in range(200):
        if customer % 7:  # every 7th customer has no list
            lists[customer] = list(rng.choice(products, size=int(rng.integers(0, 15)), replace=False))
        truth[customer] = set(rng.choice(products, size=int(rng.integers(1, 12)), replace=False))
    return lists, truth


def _overall(lists: dict[int, list[str]], truth: dict[int, set[str]], k: int) -> dict[str, float]:
    """Mean overall metrics from the existing list functions, a customer without a list scoring 0."""
    return {
        name: float(np.mean([fn(lists.get(c, []), truth[c], k) for c in truth]))
        for name, fn in (("precision", m.precision_at_k), ("recall", m.recall_at_k), ("ndcg", m.ndcg_at_k))
    }


@pytest.mark.parametrize("k", [1, 5, 10])
def test_all_repeat_truth_equals_the_overall_metrics(k: int):
    lists, truth = _random_case(7)
    # history holds every truth item (plus a few others) -> T_rep = T for everyone
    history = {c: items | {"p0", "p1"} for c, items in truth.items()}
    report = repeat_explore(lists, truth, history, k=k)
    overall = _overall(lists, truth, k)
    assert report.repeat_customers == len(truth)
    assert report.repeat_precision_at_k == pytest.approx(overall["precision"])
    assert report.repeat_recall_at_k == pytest.approx(overall["recall"])
    assert report.repeat_ndcg_at_k == pytest.approx(overall["ndcg"])
    assert report.explore_customers == 0
    assert math.isnan(report.explore_ndcg_at_k)
    assert report.truth_repeat_share == pytest.approx(1.0)
    # the same numbers as the vectorised per-customer frame the evaluation uses
    rows = [(c, rank, item) for c, items in lists.items() for rank, item in enumerate(items, start=1)]
    recommended = pd.DataFrame(rows, columns=["customer_id", "rank", "product_id"])
    table = m.per_customer_at_k(recommended, m.relevant_pairs(truth), k)
    assert report.repeat_precision_at_k == pytest.approx(table["precision"].mean())
    assert report.repeat_recall_at_k == pytest.approx(table["recall"].mean())
    assert report.repeat_ndcg_at_k == pytest.approx(table["ndcg"].mean())


def test_empty_history_makes_explore_equal_the_overall_metrics():
    lists, truth = _random_case(11)
    report = repeat_explore(lists, truth, {}, k=10)
    overall = _overall(lists, truth, 10)
    assert report.explore_customers == len(truth)
    assert report.explore_precision_at_k == pytest.approx(overall["precision"])
    assert report.explore_recall_at_k == pytest.approx(overall["recall"])
    assert report.explore_ndcg_at_k == pytest.approx(overall["ndcg"])
    assert report.repeat_customers == 0
    assert report.list_repeat_share == 0.0
