"""Repeat / explore scoring, ALS matrix weighting and recent popularity, on examples worked out by hand."""

from __future__ import annotations

import math
import os
from datetime import date

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from hashiramart_assets.ml.recommender import HybridRecommender, RecommenderParams, TrainingData, build_training_data
from hashiramart_assets.ml.recommender.als import fit_als, weight_matrix
from hashiramart_assets.ml.recommender.persistence import load_model, save_model

# customer 10 bought A (decayed history 2) and B (1); customer 20 bought B and C. D: nobody.
# One ALS factor: user 10 = 1, items A 0.5, B 1, C 2, D -1 -> ALS scores 0.5, 1, 2, -1 (clipped to 0).
# Recent popularity 4, 2, 1, 3 -> scaled 1, 0.5, 0.25, 0.75. Repeat rate 0.5 everywhere.
PARAMS = RecommenderParams(history_weight=1.0, als_weight=0.6, popularity_weight=0.2, neighbour_weight=0.0,
                           explore_weight=0.3, explore_popularity_weight=0.4, explore_neighbour_weight=0.0,
                           seasonal_lift=0.0)


def hand_model(params: RecommenderParams = PARAMS) -> HybridRecommender:
    history = sp.csr_matrix(np.array([[2.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0]]))
    model = HybridRecommender(params)
    model.data = TrainingData(
        customer_ids=np.array([10, 20], dtype=np.int64),
        product_ids=np.array(["A", "B", "C", "D"], dtype=object),
        weights=sp.csr_matrix((2, 4), dtype=np.float32),
        purchase_days=(history > 0).astype(np.float64),
        history=history,
        popularity=np.array([1.0, 1.0, 1.0, 1.0]),
        repeat_rate=np.full(4, 0.5),
        as_of=date(2025, 3, 31),
        recent_popularity=np.array([4.0, 2.0, 1.0, 3.0]),
    )
    model.user_factors = np.array([[1.0], [1.0]], dtype=np.float32)
    model.item_factors = np.array([[0.5], [1.0], [2.0], [-1.0]], dtype=np.float32)
    return model


def scores_of(model: HybridRecommender, exclude: bool = False) -> pd.DataFrame:
    return model.recommend([10], k=4, exclude_purchased=exclude).set_index("product_id")


def test_repeat_and_explore_are_scaled_apart_by_hand():
    # repeat (A, B): history scaled over bought [1, 0.5]; ALS over bought [0.5, 1] * 0.6 = [0.3, 0.6];
    #   popularity 0.2 * [1, 0.5] = [0.2, 0.1]. Sums A 1.5, B 1.2 -> divided by the best: A 1.0, B 0.8.
    # explore (C, D): ALS over never-bought [2, 0] / 2 = [1, 0]; popularity 0.4 * [0.25, 0.75] = [0.1, 0.3].
    #   Sums C 1.1, D 0.3 -> C 1.0, D 3/11; times explore_weight 0.3: C 0.3, D 9/110.
    recs = scores_of(hand_model())
    assert list(recs.index) == ["A", "B", "C", "D"]
    assert recs["score"].tolist() == pytest.approx([1.0, 0.8, 0.3, 9 / 110])
    # the largest part names the source: A history (1 of 1.5), B ALS (0.6 of 1.2), C ALS, D popularity
    assert recs["source"].tolist() == ["history", "als", "als", "popular"]


def test_explore_weight_lifts_the_best_new_product_above_a_weak_rebuy():
    # explore_weight 0.9: C scores 0.9, above B's 0.8 but not A's 1.0; D 0.9 * 3/11 = 27/110
    recs = scores_of(hand_model(PARAMS.replace(explore_weight=0.9)))
    assert list(recs.index) == ["A", "C", "B", "D"]
    assert recs.loc["C", "score"] == pytest.approx(0.9) and recs.loc["D", "score"] == pytest.approx(27 / 110)


def test_discovery_ranks_by_the_explore_score_alone():
    recs = scores_of(hand_model(), exclude=True)
    assert list(recs.index) == ["C", "D"]
    assert recs["score"].tolist() == pytest.approx([0.3, 9 / 110])


def test_neighbours_feed_the_explore_score_by_hand():
    # customer 20 (B, C) is 10's only neighbour (they share B); its L2-normalised history [0, 1, 1, 0] / sqrt 2,
    # scaled by its best: [0, 1, 1, 0]. Over 10's new products: C 1, D 0. Weight 0.5:
    # explore sums C 1 + 0.1 + 0.5 = 1.6, D 0.3 -> C 0.3, D 0.3 * 0.3 / 1.6 = 0.05625; repeat unchanged.
    recs = scores_of(hand_model(PARAMS.replace(explore_neighbour_weight=0.5)))
    assert recs["score"].tolist() == pytest.approx([1.0, 0.8, 0.3, 0.05625])
    assert recs.loc["C", "source"] == "als"  # ALS 1.0 > neighbours 0.5


def test_seasonal_lift_by_hand():
    # shares of purchase days: recent [4, 2, 1, 3] / 10, long-run [1, 1, 1, 1] / 4; prior 1 -> e = 1 / 4 products.
    # lift = (recent + 0.25) / (0.25 + 0.25): A 1.3, B 0.9, C 0.7, D 1.1 (exponent 1).
    # repeat: A 1.5 * 1.3 = 1.95, B 1.2 * 0.9 = 1.08 -> A 1, B 1.08 / 1.95 = 36/65.
    # explore: C 1.1 * 0.7 = 0.77, D 0.3 * 1.1 = 0.33 -> C 0.3, D 0.3 * 0.33 / 0.77 = 9/70.
    recs = scores_of(hand_model(PARAMS.replace(seasonal_lift=1.0, seasonal_lift_prior=1.0)))
    assert list(recs.index) == ["A", "B", "C", "D"]
    assert recs["score"].tolist() == pytest.approx([1.0, 36 / 65, 0.3, 9 / 70])
    assert recs["source"].tolist() == ["history", "als", "als", "popular"]  # one factor per product: same sources
    # exponent 2 squares the lift: B 1.2 * 0.81 / (1.5 * 1.69) = 0.972 / 2.535
    squared = scores_of(hand_model(PARAMS.replace(seasonal_lift=2.0, seasonal_lift_prior=1.0)))
    assert squared.loc["B", "score"] == pytest.approx(0.972 / 2.535)


def test_serving_fast_path_scores_like_recommend():
    from serving.recommend import FastRecommender

    model = hand_model(PARAMS.replace(explore_neighbour_weight=0.5))
    items, fallback = FastRecommender(model).recommend(10, 4, False)
    assert not fallback
    assert [(i.product_id, i.source) for i in items] == [("A", "history"), ("B", "als"), ("C", "als"),
                                                          ("D", "popular")]
    assert [i.score for i in items] == pytest.approx([1.0, 0.8, 0.3, 0.05625])


def test_old_saves_without_recent_popularity_use_the_fallback_popularity(tmp_path):
    model = hand_model()
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    assert loaded.fitted.recent_popularity.tolist() == [4.0, 2.0, 1.0, 3.0]
    (tmp_path / "m" / "recent_popularity.npy").unlink()
    old = load_model(tmp_path / "m")
    assert old.fitted.recent_popularity is None
    # popularity is flat (1 everywhere): explore C = (1 + 0.4) / 1.4 * 0.3 = 0.3, D = 0.4 / 1.4 * 0.3 = 3/35
    assert scores_of(old, exclude=True)["score"].tolist() == pytest.approx([0.3, 3 / 35])


def test_recent_popularity_decays_with_its_own_half_life():
    # as_of 2025-03-31. P1: bought that day (1) and 14 days before (0.5 at half-life 14); P2: 28 days before (0.25).
    # The history half-life (28) keeps ``popularity`` apart: P1 1 + 2**-0.5, P2 0.5.
    orders = pd.DataFrame({
        "customer_id": np.array([1, 2, 1], dtype=np.int64),
        "product_id": ["P1", "P1", "P2"],
        "order_ts": pd.to_datetime(["2025-03-31 10:00", "2025-03-17 10:00", "2025-03-03 10:00"]),
        "quantity": np.array([1, 1, 1], dtype=np.int32),
        "is_return": False,
    })
    interactions = pd.DataFrame({"customer_id": np.array([1], dtype=np.int64), "product_id": ["P1"],
                                 "weight": [1.0]})
    data = build_training_data(interactions, orders, date(2025, 3, 31), 28.0, 5.0, 14.0)
    assert data.recent_popularity.tolist() == pytest.approx([1.5, 0.25])
    assert data.popularity.tolist() == pytest.approx([1 + 2 ** -0.5, 0.5])
    assert build_training_data(interactions, orders, date(2025, 3, 31), 28.0, 5.0).recent_popularity is None


def test_weight_matrix_by_hand():
    # 4 customers x 2 products; row sums 3, 1, 0, 0 (mean 1); product 0 has 1 buyer, product 1 has 2.
    matrix = sp.csr_matrix(np.array([[2.0, 1.0], [0.0, 1.0], [0.0, 0.0], [0.0, 0.0]], dtype=np.float32))
    none = weight_matrix(matrix, RecommenderParams(als_weighting="none"))
    assert none.dtype == np.float32 and none.toarray().tolist() == matrix.toarray().tolist()
    log = weight_matrix(matrix, RecommenderParams(als_weighting="log")).toarray()
    assert log == pytest.approx(np.array([[math.log(3), math.log(2)], [0, math.log(2)], [0, 0], [0, 0]]))
    # BM25, K1 = 1, B = 0.5: idf = ln 4 - ln(1 + buyers): ln 2 and ln(4/3); norm = 0.5 + 0.5 * row sum / 1: 2, 1.
    # (0, 0): 2 * 2 / (2 + 2) * ln 2; (0, 1): 1 * 2 / (2 + 1) * ln(4/3); (1, 1): 1 * 2 / (1 + 1) * ln(4/3).
    bm25 = weight_matrix(matrix, RecommenderParams(als_weighting="bm25", bm25_k1=1.0, bm25_b=0.5)).toarray()
    expected = np.array([[math.log(2), 2 / 3 * math.log(4 / 3)], [0.0, math.log(4 / 3)], [0, 0], [0, 0]])
    assert bm25 == pytest.approx(expected, rel=1e-6)


def test_fit_als_fits_the_weighted_matrix():
    rng = np.random.default_rng(0)
    matrix = sp.random(30, 20, density=0.2, random_state=rng, format="csr", dtype=np.float32)
    matrix.data *= 10
    params = RecommenderParams(factors=4, iterations=3, als_weighting="log")
    logged = matrix.astype(np.float64)  # the weighting works in float64, then hands ALS float32
    logged.data = np.log1p(logged.data)
    users, items = fit_als(matrix, params)
    same_users, same_items = fit_als(logged, params.replace(als_weighting="none"))
    assert np.array_equal(users, same_users) and np.array_equal(items, same_items)
    raw_users, _ = fit_als(matrix, params.replace(als_weighting="none"))
    assert not np.array_equal(users, raw_users)


def test_new_params_round_trip_and_default_when_missing():
    params = RecommenderParams(als_weighting="bm25", bm25_k1=20.0, explore_weight=0.1, popularity_half_life_days=14.0)
    as_strings = {key: str(value) for key, value in params.to_dict().items()}
    assert RecommenderParams.from_dict(as_strings) == params
    # a run logged before these params existed: the missing ones take the class defaults
    old = {key: value for key, value in as_strings.items()
           if key not in {"als_weighting", "bm25_k1", "bm25_b", "explore_weight", "explore_neighbour_weight",
                          "explore_popularity_weight", "popularity_half_life_days"}}
    loaded = RecommenderParams.from_dict(old)
    assert loaded.explore_weight == RecommenderParams().explore_weight
    assert loaded.als_weighting == RecommenderParams().als_weighting
    with pytest.raises(ValueError, match="als_weighting"):
        RecommenderParams(als_weighting="tfidf")
    with pytest.raises(ValueError, match="explore_weight"):
        RecommenderParams(explore_weight=0.0)  # discovery lists would be all ties
    with pytest.raises(ValueError, match="bm25_b"):
        RecommenderParams(bm25_b=1.5)
