"""The hybrid recommender and its baselines on generated data with real taste clusters and re-buying."""

from __future__ import annotations

import math
import os
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import pandas as pd
import pytest

from hashiramart_assets.datagen import GeneratorConfig, generate
from hashiramart_assets.ml.recommender import (
    AlsRecommender,
    HybridRecommender,
    RecommenderParams,
    build_training_data,
    evaluate,
    load_model,
    save_model,
    top_n_for_all,
)
from hashiramart_assets.ml.recommender.als import fit_als
from hashiramart_assets.ml.recommender.interactions import as_of_date, build_interactions

BASE = ["precision_at_10", "recall_at_10", "ndcg_at_10", "map_at_10", "coverage", "novelty"]
PREFIXES = ["", "baseline_popular_", "baseline_repurchase_", "baseline_als_"]


def load_sample(root: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Generate the sample landing zone once and read orders, events, customers back with pandas."""
    generate(GeneratorConfig(events=60_000, days=120, seed=7), root)
    read_days = lambda table: pd.concat(  # noqa: E731
        [pd.read_parquet(p) for p in sorted((root / table).glob("date=*/part.parquet"))], ignore_index=True
    )
    return read_days("orders"), read_days("events"), pd.read_parquet(root / "customers.parquet")


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return load_sample(tmp_path_factory.mktemp("rec_landing"))


@pytest.fixture(scope="module")
def evaluation(sample):
    orders, events, customers = sample
    return evaluate(orders, events, customers, RecommenderParams())


def test_metric_names_are_exactly_the_mlflow_keys(evaluation):
    expected = {f"{p}{b}{s}" for p in PREFIXES for b in BASE for s in ("", "_discovery")} | {"n_eval_customers"}
    split_keys = {"repeat_precision_at_10", "repeat_recall_at_10", "repeat_ndcg_at_10", "n_repeat_customers",
                  "explore_precision_at_10", "explore_recall_at_10", "explore_ndcg_at_10", "n_explore_customers",
                  "list_repeat_share_at_10", "truth_repeat_share"}
    expected |= {f"{p}{key}" for p in PREFIXES for key in split_keys}
    assert set(evaluation.metrics) == expected
    assert all(isinstance(v, float) and math.isfinite(v) for v in evaluation.metrics.values())
    assert evaluation.metrics["n_eval_customers"] == len(evaluation.split.heldout) > 300
    for key in ("precision_at_10", "ndcg_at_10_discovery", "baseline_als_coverage"):
        assert 0.0 <= evaluation.metrics[key] <= 1.0


def test_repeat_and_explore_split_the_rebuy_lists(evaluation):
    m = evaluation.metrics
    # every held-out customer has a repeat or an explore part (or both)
    assert m["n_repeat_customers"] + m["n_explore_customers"] >= m["n_eval_customers"]
    # re-buy lists are mostly repeat items for the repurchase baseline, much less so for plain ALS
    assert m["baseline_repurchase_list_repeat_share_at_10"] > m["baseline_als_list_repeat_share_at_10"]
    assert m["baseline_repurchase_repeat_ndcg_at_10"] > m["baseline_als_repeat_ndcg_at_10"]
    # the truth's repeat share is a property of the split, the same for every model
    assert m["truth_repeat_share"] == m["baseline_als_truth_repeat_share"]


def test_hybrid_beats_the_baselines(evaluation):
    m = evaluation.metrics
    print({k: round(v, 4) for k, v in sorted(m.items()) if "ndcg" in k})
    for baseline in ("baseline_popular_", "baseline_repurchase_", "baseline_als_"):
        assert m["ndcg_at_10"] > m[f"{baseline}ndcg_at_10"] + 0.01, baseline
    for baseline in ("baseline_popular_", "baseline_als_"):
        assert m["ndcg_at_10_discovery"] > m[f"{baseline}ndcg_at_10_discovery"] + 0.01, baseline
    # re-buying is real in this data: the repurchase baseline beats popularity by far
    assert m["baseline_repurchase_ndcg_at_10"] > 1.5 * m["baseline_popular_ndcg_at_10"]


def test_segment_table_covers_every_segment_mode_and_model(evaluation, sample):
    seg = evaluation.segments
    assert set(seg["segment"]) == {"consumer", "business", "wholesale"}
    assert set(seg["mode"]) == {"rebuy", "discovery"}
    assert set(seg["model"]) == {"hybrid", "popular", "repurchase", "als"}
    totals = seg.groupby(["mode", "model"])["n_customers"].sum()
    assert (totals.xs("rebuy") == len(evaluation.split.heldout)).all()
    assert (totals.xs("discovery") == evaluation.n_customers["discovery"]).all()
    # the overall mean is the customer-weighted mean of the segment means
    hybrid = seg[(seg["mode"] == "rebuy") & (seg["model"] == "hybrid")]
    weighted = (hybrid["ndcg_at_10"] * hybrid["n_customers"]).sum() / hybrid["n_customers"].sum()
    assert weighted == pytest.approx(evaluation.metrics["ndcg_at_10"])


def test_same_seed_same_recommendations_and_metrics(sample, evaluation):
    orders, events, customers = sample
    again = evaluate(orders, events, customers, RecommenderParams())
    assert again.metrics == evaluation.metrics
    ids = list(evaluation.split.heldout)[:50]
    pd.testing.assert_frame_equal(again.model.recommend(ids), evaluation.model.recommend(ids))
    # and the ALS factors themselves are bit-identical
    data = evaluation.model.fitted
    u1, i1 = fit_als(data.weights, RecommenderParams())
    u2, i2 = fit_als(data.weights, RecommenderParams())
    assert np.array_equal(u1, u2) and np.array_equal(i1, i2)
    # whatever the solver's thread count: the solves of a half-step are independent of each other
    for threads in (1, 3):
        u_t, i_t = fit_als(data.weights, RecommenderParams(), num_threads=threads)
        assert np.array_equal(u1, u_t) and np.array_equal(i1, i_t)
    u3, _ = fit_als(data.weights, RecommenderParams(seed=1))
    assert not np.array_equal(u1, u3)


def test_als_baseline_on_the_hybrids_factors_equals_its_own_fit(evaluation):
    data = evaluation.model.fitted
    shared = AlsRecommender(RecommenderParams()).with_factors(
        data, evaluation.model.user_factors, evaluation.model.item_factors)
    separate = AlsRecommender(RecommenderParams()).fit_data(data)
    ids = list(evaluation.split.heldout)[:50]
    pd.testing.assert_frame_equal(shared.recommend(ids), separate.recommend(ids))


def test_recommend_output_exclusion_and_fallback(evaluation):
    model = evaluation.model
    data = model.fitted
    known = list(evaluation.split.heldout)[:20]
    recs = model.recommend([*known, 1], k=10)  # customer 1 does not exist
    assert list(recs.columns) == ["customer_id", "rank", "product_id", "score", "source", "is_fallback"]
    per_customer = recs.groupby("customer_id", sort=False)
    assert list(per_customer.size().index) == [*known, 1] and (per_customer.size() == 10).all()
    assert all(ranks == list(range(1, 11)) for ranks in per_customer["rank"].apply(list))
    assert (per_customer["score"].apply(lambda s: bool((np.diff(s.to_numpy()) <= 0).all()))).all()
    assert set(recs["source"]) <= {"history", "als", "popular", "neighbours"}
    unknown = recs[recs["customer_id"] == 1]
    assert unknown["is_fallback"].all() and (unknown["source"] == "popular").all()
    top_popular = data.product_ids[np.argsort(-data.popularity, kind="stable")[:10]]
    assert list(unknown["product_id"]) == list(top_popular)
    assert not recs.loc[recs["customer_id"] != 1, "is_fallback"].any()
    # history items are labelled history; with exclusion, nothing bought in training comes back
    bought = evaluation.split.train_orders.query("~is_return and quantity > 0").groupby("customer_id")["product_id"]
    bought = {c: set(g) for c, g in bought}
    for c, g in recs[recs["source"] == "history"].groupby("customer_id"):
        assert set(g["product_id"]) <= bought[c]
    excluded = model.recommend(known, k=10, exclude_purchased=True)
    for c, g in excluded.groupby("customer_id"):
        assert not set(g["product_id"]) & bought[c]
    with pytest.raises(ValueError, match="k must be"):
        model.recommend(known, k=0)


def test_history_component_by_hand():
    # customer 1 bought P1 on 2025-03-31 and 30 days before, P2 on 2025-03-31; customer 2 bought P2.
    # half-life 30 days: history(1, P1) = 1 + 0.5 = 1.5, history(1, P2) = 1.
    # repeat rates, prior 1: overall = 1 repeater / 3 (buyer, product) pairs = 1/3;
    #   P1: (1 + 1/3) / (1 + 1) = 2/3;  P2: (0 + 1/3) / (2 + 1) = 1/9.
    # rr * history: P1 = 2/3 * 1.5 = 1.0, P2 = 1/9 * 1 = 0.111111; divided by the row's best (1.0)
    orders = pd.DataFrame({
        "customer_id": np.array([1, 1, 1, 2], dtype=np.int64),
        "product_id": ["P1", "P1", "P2", "P2"],
        "order_ts": pd.to_datetime(["2025-03-01 10:00", "2025-03-31 10:00", "2025-03-31 10:00", "2025-03-20 10:00"]),
        "quantity": np.array([1, 1, 1, 1], dtype=np.int32),
        "is_return": False,
    })
    events = pd.DataFrame({"customer_id": np.array([2], dtype=np.int64), "product_id": ["P3"],
                           "event_ts": pd.to_datetime(["2025-03-30"]), "event_type": ["view"]})
    as_of = as_of_date(orders, events)
    params = RecommenderParams(factors=2, iterations=2, history_half_life_days=30, repeat_prior=1.0,
                               als_weight=0.0, popularity_weight=0.0, neighbour_weight=0.0, seasonal_lift=0.0)
    interactions = build_interactions(orders, events, as_of)
    model = HybridRecommender(params).fit(interactions, orders, as_of)
    recs = model.recommend([1], k=3).set_index("product_id")
    assert recs.loc["P1", "score"] == pytest.approx(1.0, abs=1e-6)
    assert recs.loc["P2", "score"] == pytest.approx(0.111111, abs=1e-6)
    assert list(recs.index[:2]) == ["P1", "P2"] and (recs["source"].iloc[:2] == "history").all()
    # P3, never bought by anyone, is customer 1's only new product: its explore score is explore_weight when
    # its ALS score is positive (the best ALS score among new products, scaled to 1), else 0 (no popularity)
    als_p3 = float(model.user_factors[0] @ model.item_factors[list(model.fitted.product_ids).index("P3")])
    assert recs.loc["P3", "score"] == pytest.approx(params.explore_weight if als_p3 > 0 else 0.0)
    assert recs.loc["P3", "source"] == ("als" if als_p3 > 0 else "popular")
    # neighbours, weight 0.5: customer 1's only similar customer is 2 (history P2 only, cosine > 0), whose
    # normalised history [P1 0, P2 1] is the neighbour mean -> P2 = 0.111111 + 0.5 * 1 = 0.611111, P1 stays 1.0
    with_neighbours = HybridRecommender(params.replace(neighbour_weight=0.5)).fit(
        interactions, orders, as_of).recommend([1], k=3).set_index("product_id")
    assert with_neighbours.loc["P1", "score"] == pytest.approx(1.0, abs=1e-6)
    assert with_neighbours.loc["P2", "score"] == pytest.approx(0.611111, abs=1e-6)
    assert with_neighbours.loc["P2", "source"] == "neighbours" and with_neighbours.loc["P1", "source"] == "history"


def test_top_n_for_all_matches_recommend(evaluation):
    model = evaluation.model
    everyone = top_n_for_all(model, None, n=5)
    assert list(everyone.columns) == ["customer_id", "rank", "product_id", "score", "source"]
    assert everyone["customer_id"].nunique() == len(model.fitted.customer_ids)
    assert (everyone.groupby("customer_id").size() == 5).all()
    some = model.fitted.customer_ids[100:130]
    expected = model.recommend(some, k=5)[["customer_id", "rank", "product_id", "score", "source"]]
    got = everyone[everyone["customer_id"].isin(some)].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected)


def test_save_and_load_round_trip(evaluation, tmp_path):
    model = evaluation.model
    save_model(model, tmp_path / "m")
    assert not list((tmp_path / "m").glob("*.pkl"))
    loaded = load_model(tmp_path / "m")
    assert loaded.params == model.params
    ids = [*model.fitted.customer_ids[:40], 1]
    for exclude in (False, True):
        pd.testing.assert_frame_equal(loaded.recommend(ids, 10, exclude), model.recommend(ids, 10, exclude))


def test_training_data_layout(evaluation):
    split = evaluation.split
    data = build_training_data(
        build_interactions(split.train_orders, split.train_events,
                           as_of_date(split.train_orders, split.train_events)),
        split.train_orders, as_of_date(split.train_orders, split.train_events), 30.0, 5.0,
    )
    assert list(data.customer_ids) == sorted(data.customer_ids)
    assert list(data.product_ids) == sorted(data.product_ids)
    # purchase days of one customer and product counted by hand from the order lines
    bought = split.train_orders.query("~is_return and quantity > 0")
    row = bought.iloc[0]
    days = bought[(bought["customer_id"] == row["customer_id"]) & (bought["product_id"] == row["product_id"])]
    u = int(np.searchsorted(data.customer_ids, row["customer_id"]))
    i = int(np.searchsorted(data.product_ids, row["product_id"]))
    assert data.purchase_days[u, i] == days["order_ts"].dt.normalize().nunique()


def test_neighbour_component_changes_rankings_and_the_serving_fast_path_follows_it(evaluation):
    from serving.recommend import FastRecommender

    assert evaluation.model.params.neighbour_weight > 0  # on by default
    model = evaluation.model
    customers = [int(c) for c in model.fitted.customer_ids[:40]]
    recs = model.recommend(customers, k=10)
    assert "neighbours" in set(recs["source"])  # items that only similar customers buy
    without = model.params.replace(neighbour_weight=0.0)
    plain = HybridRecommender(without).fit_data(model.fitted).recommend(customers, k=10)
    assert recs["product_id"].tolist() != plain["product_id"].tolist()
    fast = FastRecommender(model)
    for customer_id, group in recs.groupby("customer_id", sort=False):
        items, _ = fast.recommend(int(customer_id), 10, False)
        assert [i.product_id for i in items] == group["product_id"].tolist()
        assert [i.source for i in items] == group["source"].tolist()
