"""The trading calendar: inferred from an export's history, declared in settings, recorded in the landing zone."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from hashiramart_assets import landing
from hashiramart_assets.settings import load_settings
from hashiramart_assets.trading_calendar import (
    TradingCalendar,
    date_range,
    declared_calendar,
    infer_calendar,
    load_calendar,
    parse_dates,
    parse_weekdays,
    record_landed_span,
)

START, END = "2025-11-03", "2026-01-18"  # Monday .. Sunday, 11 weeks


def _history() -> dict[str, int]:
    """No Sundays, and a break 2025-12-24 .. 2026-01-01 (Christmas Eve to New Year's Day)."""
    rows = {}
    for day in date_range(START, END):
        closed = day.weekday() == 6 or date(2025, 12, 24) <= day <= date(2026, 1, 1)
        rows[str(day)] = 0 if closed else 100 + day.weekday()
    return rows


def test_infers_a_closed_weekday_and_a_holiday_break():
    calendar, report = infer_calendar(_history(), START, END)
    assert calendar.closed_weekdays == {6}
    assert calendar.inferred
    assert report.closed_weekdays == ["Sunday"]
    # 11 Sundays + 2025-12-24..2026-01-01 = 9 days, of which 12-28 is a Sunday: 11 + 8 = 19 closed days
    assert (report.calendar_days, report.closed_days, report.trading_days) == (77, 19, 58)
    assert report.closed_periods == ["2025-12-24..2026-01-01 (9 days)"]
    assert calendar.is_closed("2025-12-25") and calendar.is_closed("2025-11-09")  # a holiday, a Sunday
    assert not calendar.is_closed("2025-12-23")
    # the week before and after the break (its run of zero days is 12-21 Sun .. 01-01 plus Sunday 01-04)
    assert "2025-12-23" in calendar.short_dates and "2026-01-02" in calendar.short_dates
    assert "2025-12-08" not in calendar.short_dates


def test_a_weekday_closed_only_now_and_then_is_not_a_closed_weekday():
    rows = {str(d): (0 if d.weekday() == 0 and d.day < 8 else 50) for d in date_range(START, END)}
    calendar, report = infer_calendar(rows, START, END)
    assert calendar.closed_weekdays == frozenset() and report.closed_weekdays == []
    assert calendar.closed_dates == {"2025-11-03", "2025-12-01", "2026-01-05"}  # the first Mondays: holidays


def test_record_landed_span_lands_empty_partitions_and_the_manifest(tmp_path):
    report = record_landed_span(tmp_path, _history(), START, END)
    assert report.closed_days == 19
    for table in landing.DAILY_TABLES:
        assert len(landing.landed_days(tmp_path, table)) == 19  # only the closed days were written here
        part = pd.read_parquet(landing.day_path(tmp_path, table, "2025-12-25"))
        assert part.empty and list(part.columns) == list(landing.TABLE_COLUMNS[table])
    manifest = landing.read_manifest(tmp_path)
    assert (manifest["start_date"], manifest["end_date"]) == (START, END)
    assert manifest["calendar"]["closed_weekdays"] == ["Sunday"]
    assert load_calendar(tmp_path).is_closed("2025-12-31")


def test_declared_calendar_adds_to_the_recorded_one(tmp_path, monkeypatch):
    record_landed_span(tmp_path, _history(), START, END)
    monkeypatch.setenv("HASHIRAMART_LANDING_DIR", str(tmp_path))
    monkeypatch.setenv("HASHIRAMART_CLOSED_WEEKDAYS", "sat")
    monkeypatch.setenv("HASHIRAMART_CLOSED_DATES", "2026-01-12..2026-01-13")
    calendar = load_settings().trading_calendar()
    assert calendar.closed_weekdays == {5, 6}
    assert calendar.is_closed("2026-01-13") and calendar.is_closed("2025-12-25")
    assert not calendar.is_closed("2026-01-14")


def test_partitions_end_at_the_last_landed_day_unless_live(tmp_path, monkeypatch):
    record_landed_span(tmp_path, _history(), START, END)
    monkeypatch.setenv("HASHIRAMART_LANDING_DIR", str(tmp_path))
    from hashiramart_assets.definitions import daily_partitions

    keys = daily_partitions(load_settings()).get_partition_keys()
    assert (keys[0], keys[-1], len(keys)) == (START, END, 77)
    monkeypatch.setenv("HASHIRAMART_PARTITIONS_END", "yesterday")
    assert daily_partitions(load_settings()).get_partition_keys()[-1] > "2026-01-18"
    monkeypatch.setenv("HASHIRAMART_PARTITIONS_END", "2025-12-31")
    assert daily_partitions(load_settings()).get_partition_keys()[-1] == "2025-12-31"
    monkeypatch.setenv("HASHIRAMART_PARTITIONS_END", "soon")
    with pytest.raises(ValueError, match="HASHIRAMART_PARTITIONS_END='soon'"):
        load_settings()


def test_parsing_names_what_is_wrong():
    assert parse_weekdays("Sat, sunday,0") == {5, 6, 0}
    assert parse_dates("2025-12-30..2026-01-01,2025-12-25") == {"2025-12-25", "2025-12-30", "2025-12-31",
                                                                "2026-01-01"}
    with pytest.raises(ValueError, match="'caturday' is not a weekday"):
        parse_weekdays("caturday")
    with pytest.raises(ValueError, match="'2025-13-01' is not a date"):
        parse_dates("2025-13-01")
    assert declared_calendar(None, None, None) == TradingCalendar()
