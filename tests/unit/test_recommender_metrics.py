"""Ranking metrics on tiny lists whose expected values are worked out by hand in the comments."""

from __future__ import annotations

import math

import pytest

from hashiramart_assets.ml.recommender import metrics as m

RECS = ["a", "b", "c", "d"]
RELEVANT = {"b", "d", "z"}  # hits at ranks 2 and 4; "z" is never recommended


def test_precision_and_recall():
    # 2 hits in the top 4 -> precision 2/4; 2 of 3 relevant found -> recall 2/3
    assert m.precision_at_k(RECS, RELEVANT, 4) == pytest.approx(0.5)
    assert m.recall_at_k(RECS, RELEVANT, 4) == pytest.approx(2 / 3)
    # top 2 only: one hit ("b") -> precision 1/2, recall 1/3
    assert m.precision_at_k(RECS, RELEVANT, 2) == pytest.approx(0.5)
    assert m.recall_at_k(RECS, RELEVANT, 2) == pytest.approx(1 / 3)
    # k larger than the list: precision still divides by k -> 2/10
    assert m.precision_at_k(RECS, RELEVANT, 10) == pytest.approx(0.2)
    assert m.recall_at_k(RECS, set(), 4) == 0.0


def test_ndcg():
    # DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068 = 1.06161
    # ideal: min(4, 3) = 3 hits at ranks 1..3 -> 1 + 0.63093 + 0.5 = 2.13093 -> NDCG = 0.49819
    assert m.ndcg_at_k(RECS, RELEVANT, 4) == pytest.approx(0.49819, abs=1e-5)
    # k = 2: DCG = 1/log2(3) = 0.63093; ideal over min(2, 3) = 2 -> 1.63093 -> 0.38685
    assert m.ndcg_at_k(RECS, RELEVANT, 2) == pytest.approx(0.38685, abs=1e-5)
    # a single relevant item at rank 1 is perfect
    assert m.ndcg_at_k(["x", "y"], {"x"}, 10) == pytest.approx(1.0)
    assert m.ndcg_at_k(RECS, set(), 4) == 0.0


def test_average_precision():
    # hits at ranks 2 and 4: precision@2 = 1/2, precision@4 = 2/4 -> (0.5 + 0.5) / min(4, 3) = 1/3
    assert m.average_precision_at_k(RECS, RELEVANT, 4) == pytest.approx(1 / 3)
    # k = 2: only the hit at rank 2 -> 0.5 / min(2, 3) = 0.25
    assert m.average_precision_at_k(RECS, RELEVANT, 2) == pytest.approx(0.25)
    # hits at ranks 1 and 3 of {x, z}: (1/1 + 2/3) / 2 = 0.83333
    assert m.average_precision_at_k(["x", "y", "z"], {"x", "z"}, 10) == pytest.approx(5 / 6)


def test_coverage():
    # catalogue a..e (5 products); top-2 lists show a, b and b, c -> {a, b, c} = 3/5
    lists = [["a", "b", "e"], ["b", "c"]]
    assert m.catalogue_coverage(lists, {"a", "b", "c", "d", "e"}, 2) == pytest.approx(0.6)
    # with k = 3 "e" is shown too -> 4/5
    assert m.catalogue_coverage(lists, {"a", "b", "c", "d", "e"}, 3) == pytest.approx(0.8)


def test_novelty():
    # 3 train users; "a" bought by 3, "b" by 1, "c" by nobody.
    # share = (buyers + 1) / (3 + 1): a 4/4 -> 0 bits, b 2/4 -> 1 bit, c 1/4 -> 2 bits
    # lists [a, b] and [c] -> mean over 3 pairs of (0 + 1 + 2) = 1.0
    buyers = {"a": 3, "b": 1}
    assert m.novelty([["a", "b"], ["c"]], buyers, 3, 10) == pytest.approx(1.0)
    assert m.novelty([["c"]], buyers, 3, 10) == pytest.approx(-math.log2(1 / 4))


def test_frame_metrics_equal_the_list_functions_on_random_lists():
    """per_customer_at_k / coverage_and_novelty give what the per-list functions give, customer by customer."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    products = [f"p{i}" for i in range(40)]
    lists, relevant, rows = {}, {}, []
    for customer in range(300):
        length = int(rng.integers(0, 15))  # some lists shorter than k, some empty, some longer
        lists[customer] = list(rng.choice(products, size=length, replace=False))
        relevant[customer] = set(rng.choice(products, size=int(rng.integers(1, 12)), replace=False))
        rows += [(customer, rank, item) for rank, item in enumerate(lists[customer], start=1)]
    recommended = pd.DataFrame(rows, columns=["customer_id", "rank", "product_id"]).sample(frac=1, random_state=1)
    for k in (1, 5, 10):
        table = m.per_customer_at_k(recommended, m.relevant_pairs(relevant), k).set_index("customer_id")
        assert list(table.index) == list(relevant)
        for customer, rel in relevant.items():
            got = table.loc[customer]
            want = (m.precision_at_k(lists[customer], rel, k), m.recall_at_k(lists[customer], rel, k),
                    m.ndcg_at_k(lists[customer], rel, k), m.average_precision_at_k(lists[customer], rel, k))
            assert tuple(got[["precision", "recall", "ndcg", "map"]]) == pytest.approx(want, abs=1e-12)
        buyers = {p: int(rng.integers(0, 50)) for p in products[:30]}  # p30.. never bought
        catalogue = set(products) | {"not-shown"}
        coverage, novelty = m.coverage_and_novelty(recommended, catalogue, pd.Series(buyers), 60, k)
        assert coverage == pytest.approx(m.catalogue_coverage(lists.values(), catalogue, k))
        assert novelty == pytest.approx(m.novelty(lists.values(), buyers, 60, k), abs=1e-12)


def test_frame_metrics_on_the_worked_example():
    import pandas as pd

    recommended = pd.DataFrame({"customer_id": 7, "rank": [1, 2, 3, 4], "product_id": RECS})
    table = m.per_customer_at_k(recommended, m.relevant_pairs({7: RELEVANT, 8: {"a"}}), 4)
    # customer 7: the hand-worked values above; customer 8 has no recommendations: all zero
    assert table.loc[0, ["precision", "recall", "ndcg", "map"]].tolist() == pytest.approx([0.5, 2 / 3, 0.49819, 1 / 3],
                                                                                         abs=1e-5)
    assert table.loc[1, ["precision", "recall", "ndcg", "map"]].tolist() == [0.0, 0.0, 0.0, 0.0]
