"""Recommender quality after training and forecast accuracy, on hand-made frames with hand-counted answers."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from hashiramart_assets.monitoring.forecast_accuracy import forecast_accuracy
from hashiramart_assets.monitoring.recommender_quality import quality_report

TOP = pd.DataFrame({"customer_id": [1, 1, 2, 2], "rank": [1, 2, 1, 2], "product_id": ["a", "b", "c", "a"]})
ORDERS = pd.DataFrame({
    "order_ts": pd.to_datetime(["2025-01-05", "2025-01-12", "2025-01-12", "2025-01-13"]),
    "customer_id": [1, 1, 2, 2], "product_id": ["a", "a", "z", "c"], "quantity": [1, 1, 1, -1],
    "is_return": [False, False, False, True],
})
EVENTS = pd.DataFrame({
    "event_ts": pd.to_datetime(["2025-01-11", "2025-01-11", "2025-01-12", "2025-01-09"]),
    "customer_id": [1, 1, 2, 2], "product_id": ["b", "x", "z", "c"],
    "event_type": ["view", "view", "add_to_cart", "view"],
})


def test_offline_metrics_only_count_purchases_after_the_training_data():
    # after 2025-01-10: customer 1 bought {a} (a at rank 1), customer 2 bought {z} (the return of c does not count)
    report = quality_report(TOP, ORDERS, EVENTS, None, date(2025, 1, 10), date(2025, 1, 20))
    assert report.customers_scored == 2
    assert report.precision_at_10 == pytest.approx((1 / 10 + 0) / 2)
    assert report.recall_at_10 == pytest.approx((1 + 0) / 2)
    assert report.ndcg_at_10 == pytest.approx(0.5)  # customer 1: hit at rank 1 = 1.0; customer 2: 0
    # clickstream proxy: customers 1 and 2 are active after 01-10; shown 4 items; customer 1 viewed b -> 1 click
    assert (report.impressions, report.clicks, report.ctr_source) == (4, 1, "clickstream_proxy")
    assert report.ctr == pytest.approx(0.25)


def test_nothing_after_the_training_data_gives_no_metrics():
    report = quality_report(TOP, ORDERS, EVENTS, None, date(2025, 2, 1), date(2025, 2, 1))
    assert report.customers_scored == 0 and report.ndcg_at_10 is None and report.ctr is None
    assert report.ctr_source == "none"


def test_api_feedback_wins_over_the_proxy_within_its_wall_clock_window():
    now = pd.Timestamp("2026-11-23 12:00", tz="UTC")
    feedback = pd.DataFrame({
        "customer_id": [1] * 5, "product_id": ["a"] * 5,
        "event": ["impression", "impression", "impression", "click", "click"],
        "ts": pd.to_datetime(["2026-11-22", "2026-11-21", "2026-11-01", "2026-11-22", "2026-11-02"], utc=True),
    })
    report = quality_report(TOP, ORDERS, EVENTS, feedback, date(2025, 1, 10), date(2025, 1, 20), now=now,
                            feedback_days=7)
    # only the rows of the last 7 days: 2 impressions, 1 click
    assert (report.impressions, report.clicks, report.ctr_source) == (2, 1, "feedback")
    assert report.ctr == pytest.approx(0.5)
    # hourly counts as read from Postgres (column n): 10 + 30 items shown in the window, 4 clicks; the
    # 100 impressions of three weeks ago are outside it
    hourly = pd.DataFrame({"event": ["impression", "impression", "click", "impression"], "n": [10, 30, 4, 100],
                           "ts": pd.to_datetime(["2026-11-22 10:00", "2026-11-20 09:00", "2026-11-22 11:00",
                                                 "2026-11-01 00:00"], utc=True)})
    counted = quality_report(TOP, ORDERS, EVENTS, hourly, date(2025, 1, 10), date(2025, 1, 20), now=now,
                             feedback_days=7)
    assert (counted.impressions, counted.clicks) == (40, 4) and counted.ctr == pytest.approx(0.1)


def test_forecast_accuracy_scores_only_days_with_actuals_and_open():
    forecasts = pd.DataFrame({
        "series_id": ["s", "s", "s"], "date": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-03"]),
        "forecast": [10.0, 5.0, 7.0], "as_of": pd.to_datetime(["2024-12-31"] * 3),
    })
    history = pd.DataFrame({"series_id": ["s", "s"], "date": pd.to_datetime(["2025-01-01", "2025-01-02"]),
                            "sales": [8.0, 9.0], "open": [1, 0]})
    report = forecast_accuracy(forecasts, history)
    # 01-02 is closed and 01-03 has no actual yet: only 01-01 scores, |8 - 10| / 8
    assert report.scored_points == 1 and report.wape == pytest.approx(0.25)
    assert report.by_as_of == {"2024-12-31": pytest.approx(0.25)}
    assert forecast_accuracy(forecasts.iloc[:0], history).wape is None
