"""Raw days judged against the trading calendar: closed days pass, missing / empty / truncated trading days fail.

Hand-made landing zones: 300 order lines on each trading day (enough for the volume rule to apply), a shop
closed on Sundays and over a holiday. Every rejected row ends in the quarantine: input = accepted + quarantined.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hashiramart_assets import landing
from hashiramart_assets.ingest import raw_tables
from hashiramart_assets.ingest.raw_tables import VolumeRule
from hashiramart_assets.lake import paths, store
from hashiramart_assets.trading_calendar import TradingCalendar, date_range

KNOWN = {"product_id": {"P1", "P2"}, "customer_id": {1, 2, 3}}
CALENDAR = TradingCalendar(closed_weekdays=frozenset({6}), closed_dates=frozenset({"2025-03-19"}),
                           short_dates=frozenset({"2025-03-20"}))
RULE = VolumeRule(min_ratio=0.3, lookback_weeks=4)


def orders(day: str, n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": [f"O-{day}-{i}" for i in range(n)], "line_no": 1,
        "order_ts": pd.Timestamp(f"{day} 09:00") + pd.to_timedelta(range(n), unit="s"),
        "customer_id": [1 + i % 3 for i in range(n)], "product_id": ["P1", "P2"] * (n // 2) + ["P1"] * (n % 2),
        "quantity": 1, "unit_price": 2.5, "list_price": 2.5, "promo": False, "is_return": False,
        "channel": "web", "country": "JP",
    })


@pytest.fixture
def zone(tmp_path: Path) -> tuple[Path, str]:
    """2025-03-01 .. 2025-03-28 landed: 300 lines a trading day, Sundays and 03-19 closed (no file)."""
    landing_dir, root = tmp_path / "landing", str(tmp_path / "lake")
    for day in date_range("2025-03-01", "2025-03-28"):
        if not CALENDAR.is_closed(str(day)):
            landing.write_day(landing_dir, "orders", day, orders(str(day), 300))
    return landing_dir, root


def ingest(zone: tuple[Path, str], day: str) -> raw_tables.IngestOutcome:
    return raw_tables.ingest_calendar_day(zone[0], zone[1], "orders", day, KNOWN, CALENDAR, RULE)


def ingest_until(zone: tuple[Path, str], last: str) -> dict[str, raw_tables.IngestOutcome]:
    return {str(d): ingest(zone, str(d)) for d in date_range("2025-03-01", last)}


def test_closed_days_pass_with_or_without_an_empty_file(zone):
    landing.write_day(zone[0], "orders", "2025-03-09", orders("2025-03-09", 0))  # Sunday, explicit empty file
    outcomes = ingest_until(zone, "2025-03-28")
    statuses = {d: o.status for d, o in outcomes.items()}
    assert [d for d, s in statuses.items() if s == "closed"] == [
        "2025-03-02", "2025-03-09", "2025-03-16", "2025-03-19", "2025-03-23"]
    assert all(s == "trading" for d, s in statuses.items() if not CALENDAR.is_closed(d))
    assert store.row_count(paths.raw_day_file(zone[1], "orders", "2025-03-19")) == 0  # an empty raw partition
    assert raw_tables.rejected_days(zone[1]) == {}


def test_missing_file_on_a_trading_day_is_rejected(zone):
    landing.day_path(zone[0], "orders", "2025-03-12").unlink()
    outcome = ingest_until(zone, "2025-03-12")["2025-03-12"]
    assert outcome.status == "rejected" and outcome.problem.startswith("missing")
    assert not outcome.family_passed("rules")
    assert raw_tables.rejected_days(zone[1]) == {"2025-03-12": "missing: no landed file for a trading day"}


def test_empty_file_on_a_trading_day_is_rejected(zone):
    landing.write_day(zone[0], "orders", "2025-03-12", orders("2025-03-12", 0))
    outcome = ingest_until(zone, "2025-03-12")["2025-03-12"]
    assert (outcome.status, outcome.problem) == ("rejected", "empty: no rows on a trading day")


def test_truncated_file_is_rejected_whole_and_kept_in_quarantine(zone):
    landing.write_day(zone[0], "orders", "2025-03-26", orders("2025-03-26", 80))  # Wednesday: 80 of ~300
    outcome = ingest_until(zone, "2025-03-26")["2025-03-26"]
    assert outcome.status == "rejected"
    assert outcome.problem.startswith("truncated: 80 rows and 80 orders < 30% of the medians 300 rows / 300 orders")
    assert (outcome.input_rows, outcome.accepted_rows, outcome.quarantined_rows) == (80, 0, 80)
    # compared with the same weekday's trading days only: 03-19 (a closed Wednesday) is not among them
    assert outcome.baseline["compared_with"] == {"2025-03-05": (300, 300), "2025-03-12": (300, 300)}
    assert outcome.baseline["weekday"] == "Wednesday"
    assert store.row_count(paths.raw_day_file(zone[1], "orders", "2025-03-26")) == 0
    quarantine = store.read_parquet(paths.quarantine_day_file(zone[1], "orders", "2025-03-26"))
    assert len(quarantine) == 80 and quarantine["reason"].str.startswith("day_rejected: truncated").all()
    assert sorted(quarantine["source_row"]) == list(range(1, 81))


def test_a_quiet_day_above_the_ratio_and_a_short_day_pass(zone):
    landing.write_day(zone[0], "orders", "2025-03-25", orders("2025-03-25", 100))  # Tuesday at 33 %
    landing.write_day(zone[0], "orders", "2025-03-20", orders("2025-03-20", 60))  # short Thursday at 20 %
    outcomes = ingest_until(zone, "2025-03-25")
    assert outcomes["2025-03-25"].status == "trading"
    assert outcomes["2025-03-20"].status == "trading" and outcomes["2025-03-20"].baseline["min_ratio"] == 0.15


def _baskets(day: str, lines: int, n_orders: int) -> pd.DataFrame:
    frame = orders(day, lines)
    frame["order_id"] = [f"O-{day}-{i % n_orders}" for i in range(lines)]
    frame["line_no"] = frame.groupby("order_id").cumcount() + 1
    return frame


def test_fewer_lines_in_as_many_orders_is_a_quiet_day_not_a_truncated_file(zone):
    for wednesday in ("2025-03-05", "2025-03-12"):  # 300 lines in 30 orders of 10 lines
        landing.write_day(zone[0], "orders", wednesday, _baskets(wednesday, 300, 30))
    landing.write_day(zone[0], "orders", "2025-03-26", _baskets("2025-03-26", 60, 25))  # 20 % of lines, 83 % of orders
    assert ingest_until(zone, "2025-03-26")["2025-03-26"].status == "trading"
    landing.write_day(zone[0], "orders", "2025-03-26", _baskets("2025-03-26", 60, 6))  # 20 % of both: cut short
    outcome = ingest(zone, "2025-03-26")
    assert outcome.status == "rejected" and "60 rows and 6 orders" in outcome.problem


def test_row_failures_on_a_rejected_day_keep_their_own_reason(zone):
    bad = orders("2025-03-26", 80)
    bad.loc[3, "quantity"] = -2
    landing.write_day(zone[0], "orders", "2025-03-26", bad)
    outcome = ingest_until(zone, "2025-03-26")["2025-03-26"]
    assert (outcome.status, outcome.accepted_rows, outcome.quarantined_rows) == ("rejected", 0, 80)
    quarantine = store.read_parquet(paths.quarantine_day_file(zone[1], "orders", "2025-03-26"))
    by_row = dict(zip(quarantine["source_row"], quarantine["reason"], strict=True))
    assert by_row[4].startswith("rules:") and by_row[1].startswith("day_rejected:")


def test_relanding_a_fixed_day_accepts_it(zone):
    landing.write_day(zone[0], "orders", "2025-03-26", orders("2025-03-26", 80))
    ingest_until(zone, "2025-03-26")
    assert "2025-03-26" in raw_tables.rejected_days(zone[1])
    landing.write_day(zone[0], "orders", "2025-03-26", orders("2025-03-26", 290))
    assert ingest(zone, "2025-03-26").status == "trading"
    assert raw_tables.rejected_days(zone[1]) == {}
    assert not store.exists(paths.quarantine_day_file(zone[1], "orders", "2025-03-26"))


def test_the_models_lineage_names_the_rejected_days_it_trained_without(zone):
    from hashiramart_assets.ml.registration import Lineage

    landing.day_path(zone[0], "orders", "2025-03-12").unlink()
    ingest_until(zone, "2025-03-13")
    excluded = raw_tables.rejected_days(zone[1])
    tags = Lineage("run-1", "abc", {"raw/orders": "v1"}, excluded).tags()
    assert tags["excluded_days"] == "2025-03-12" and tags["excluded_days_count"] == "1"
    assert "2025-03-12 missing: no landed file for a trading day" in tags["data_warning"]
    assert "excluded_days" not in Lineage("run-1", "abc", {"raw/orders": "v1"}).tags()
