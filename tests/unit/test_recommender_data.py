"""Interactions (pandas twin of the Spark builder), the holdout split and the params record."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd
import pytest

from hashiramart_assets.ml.recommender.interactions import InteractionWeights, as_of_date, build_interactions
from hashiramart_assets.ml.recommender.params import RecommenderParams
from hashiramart_assets.ml.recommender.split import holdout_split


def _orders(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["order_id", "order_ts", "customer_id", "product_id", "quantity", "is_return"])
    return frame.assign(order_ts=pd.to_datetime(frame["order_ts"]), customer_id=frame["customer_id"].astype("int64"),
                        quantity=frame["quantity"].astype("int32"), line_no=1, unit_price=10.0, list_price=10.0,
                        promo=False, channel="web", country="JP")


def _events(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["event_id", "event_ts", "customer_id", "product_id", "event_type"])
    return frame.assign(event_ts=pd.to_datetime(frame["event_ts"]), customer_id=frame["customer_id"].astype("int64"),
                        session_id="s", order_id=None)


def test_interactions_match_the_spark_rules_by_hand():
    # Same example as the Spark integration test: as_of 2025-03-31, half-life 30 days.
    orders = _orders([
        ("A", "2025-03-01 10:00", 1, "P1", 2, False),  # 30 days old: decay 0.5
        ("B", "2025-03-31 09:00", 1, "P1", 1, False),
        ("C", "2025-03-31 18:00", 2, "P1", -1, True),  # a return: ignored
    ])
    events = _events([
        ("e1", "2025-03-01 09:00", 2, "P2", "view"),
        ("e2", "2025-03-31 08:00", 2, "P2", "view"),
        ("e3", "2025-03-31 08:05", 2, "P2", "add_to_cart"),
        ("e4", "2025-03-31 08:06", 2, "P2", "purchase"),  # purchases come from order lines, not events
    ])
    as_of = as_of_date(orders, events)
    assert as_of == date(2025, 3, 31)
    weights = InteractionWeights(view=1.0, add_to_cart=3.0, purchase=5.0, half_life_days=30.0)
    got = build_interactions(orders, events, as_of, weights).set_index(["customer_id", "product_id"])
    # customer 1 / P1: 0.5 * 5 * ln(3) + 5 * ln(2) = 2.74653 + 3.46574 = 6.21227
    assert got.loc[(1, "P1"), "weight"] == pytest.approx(0.5 * 5 * math.log(3) + 5 * math.log(2))
    assert got.loc[(1, "P1"), "weight"] == pytest.approx(6.21227, abs=1e-5)
    assert got.loc[(1, "P1"), "purchases"] == 3
    assert got.loc[(1, "P1"), "last_interaction_ts"] == pd.Timestamp("2025-03-31 09:00")
    # customer 2 / P2: view 30 days ago 0.5 + view today 1 + cart today 3 = 4.5
    assert got.loc[(2, "P2"), "weight"] == pytest.approx(4.5)
    assert (got.loc[(2, "P2"), "views"], got.loc[(2, "P2"), "carts"], got.loc[(2, "P2"), "purchases"]) == (2, 1, 0)
    assert (2, "P1") not in got.index  # customer 2 only returned P1
    assert len(got) == 2
    assert list(got.reset_index().columns) == [
        "customer_id", "product_id", "weight", "views", "carts", "purchases", "last_interaction_ts"]


def test_future_timestamps_do_not_decay_above_one():
    orders = _orders([("A", "2025-04-02 10:00", 1, "P1", 1, False)])
    got = build_interactions(orders, _events([]), date(2025, 3, 31))
    assert got["weight"].iloc[0] == pytest.approx(5 * math.log(2))  # age floored at 0 days


def test_holdout_split_by_last_purchase_day():
    orders = _orders([
        ("O1", "2025-01-10 10:00", 1, "P1", 1, False),
        ("O2", "2025-01-20 10:00", 1, "P2", 1, False),
        ("O3", "2025-01-20 12:00", 1, "P3", 2, False),  # same last day: also held out
        ("R1", "2025-01-21 12:00", 1, "P1", -1, True),  # after the holdout day: dropped
        ("O4", "2025-01-15 10:00", 2, "P1", 1, False),  # single purchase day: all train
        ("O5", "2025-01-15 11:00", 2, "P4", 1, False),
        ("R2", "2025-01-20 09:00", 3, "P1", -1, True),  # returns do not count as purchase days
        ("O6", "2025-01-05 09:00", 3, "P1", 1, False),
    ])
    events = _events([
        ("e1", "2025-01-19 23:59", 1, "P3", "view"),  # before the holdout day: kept
        ("e2", "2025-01-20 09:00", 1, "P3", "add_to_cart"),  # on the holdout day: leaks, dropped
        ("e3", "2025-01-25 09:00", 2, "P9", "view"),  # customer 2 has no holdout: kept
    ])
    split = holdout_split(orders, events)
    assert split.heldout == {1: {"P2", "P3"}}
    assert split.holdout_dates == {1: pd.Timestamp("2025-01-20")}
    assert sorted(split.train_orders["order_id"]) == ["O1", "O4", "O5", "O6", "R2"]
    assert sorted(split.train_events["event_id"]) == ["e1", "e3"]


def test_params_round_trip_through_mlflow_strings():
    params = RecommenderParams(factors=8, alpha=3.5, seed=3)
    as_strings = {key: str(value) for key, value in params.to_dict().items()}
    assert RecommenderParams.from_dict(as_strings) == params
    with pytest.raises(ValueError, match="unrelated"):  # like the forecaster's: a typo never becomes a default
        RecommenderParams.from_dict({**as_strings, "unrelated": "x"})
    assert set(params.to_dict()) >= {"factors", "regularization", "iterations", "alpha", "history_weight",
                                     "als_weight", "popularity_weight", "seed"}
    with pytest.raises(ValueError, match="factors"):
        RecommenderParams(factors=0)
