"""The trading calendar of the landed span: every calendar day is trading, closed, or missing.

Why: real shops do not trade every day (no Saturdays, a Christmas break). A day without trading is normal
retail and must pass; a trading day whose file is missing, empty or truncated is a failure. The two look
the same in a folder listing, so the calendar is recorded explicitly:

- importers know the span they imported: every calendar day of it is recorded, days without any accepted
  line get an explicit empty partition, and the closed weekdays / dates are *inferred* from the history
  and reported (``record_landed_span``);
- the generator records its span in the manifest and lands a file for every day (it trades every day);
- a shop can *declare* closed weekdays, closed dates (holidays) and short days in settings
  (``HASHIRAMART_CLOSED_WEEKDAYS``, ``HASHIRAMART_CLOSED_DATES``, ``HASHIRAMART_SHORT_DATES``), which are
  added to what the manifest holds.

The raw layer then judges each day with :func:`TradingCalendar.is_closed` / :func:`TradingCalendar.is_short`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from hashiramart_assets import landing

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MANIFEST_KEY = "calendar"
# A weekday is inferred closed when at least this share of its occurrences in the span had no trading.
CLOSED_WEEKDAY_SHARE = 0.8
# ... and it occurred at least this often (two weeks of history say nothing about weekly habits).
MIN_WEEKS_TO_INFER = 4
# The trading days in the week before and the week after a closure of at least this many days are "short"
# (the run-up to Christmas, the first days back): their volume check is relaxed. Measured on Online Retail II
# 2009-2010: 21-23 Dec and 6 Jan trade at 16-25 % of their weekday's median, every other day above 30 %.
SHORT_AROUND_CLOSURES_OF_DAYS = 4
SHORT_WINDOW_DAYS = 7


def parse_weekdays(text: str | None) -> frozenset[int]:
    """'sat,sun' / 'Saturday' / '5,6' -> {5, 6} (Monday = 0); unknown names are an error naming the value."""
    if not text:
        return frozenset()
    found = set()
    for item in (part.strip().lower() for part in text.split(",")):
        if not item:
            continue
        if item.isdigit() and int(item) < 7:
            found.add(int(item))
            continue
        match = [i for i, name in enumerate(WEEKDAYS) if name.lower().startswith(item[:3]) and len(item) >= 3]
        if not match:
            raise ValueError(f"{item!r} is not a weekday (use mon..sun or 0..6, Monday = 0)")
        found.add(match[0])
    return frozenset(found)


def parse_dates(text: str | None) -> frozenset[str]:
    """'2025-12-25,2025-12-24..2026-01-01' -> the ISO dates, ranges expanded; bad dates name the value."""
    if not text:
        return frozenset()
    days: set[str] = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        first, _, last = item.partition("..")
        try:
            start, end = date.fromisoformat(first.strip()), date.fromisoformat((last or first).strip())
        except ValueError as exc:
            raise ValueError(f"{item!r} is not a date or a range FIRST..LAST (YYYY-MM-DD)") from exc
        days.update(str(d) for d in date_range(start, end))
    return frozenset(days)


def date_range(start: date | str, end: date | str) -> list[date]:
    first, last = date.fromisoformat(str(start)), date.fromisoformat(str(end))
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass(frozen=True)
class TradingCalendar:
    """Which days a shop is closed (no trading expected) or trades short (low volume expected)."""

    closed_weekdays: frozenset[int] = frozenset()
    closed_dates: frozenset[str] = frozenset()
    short_dates: frozenset[str] = frozenset()
    inferred: bool = False  # True when the closed days came from the history, not from the shop

    def is_closed(self, day: str) -> bool:
        return day in self.closed_dates or date.fromisoformat(day).weekday() in self.closed_weekdays

    def is_short(self, day: str) -> bool:
        return day in self.short_dates

    def merged(self, other: TradingCalendar) -> TradingCalendar:
        return TradingCalendar(
            self.closed_weekdays | other.closed_weekdays, self.closed_dates | other.closed_dates,
            self.short_dates | other.short_dates, self.inferred or other.inferred,
        )

    def to_manifest(self) -> dict[str, object]:
        return {
            "closed_weekdays": [WEEKDAYS[d] for d in sorted(self.closed_weekdays)],
            "closed_dates": sorted(self.closed_dates),
            "short_dates": sorted(self.short_dates),
            "inferred": self.inferred,
        }

    @classmethod
    def from_manifest(cls, data: object) -> TradingCalendar:
        if not isinstance(data, dict):
            return cls()
        return cls(
            parse_weekdays(",".join(str(d) for d in data.get("closed_weekdays", []))),
            frozenset(str(d) for d in data.get("closed_dates", [])),
            frozenset(str(d) for d in data.get("short_dates", [])),
            bool(data.get("inferred", False)),
        )


@dataclass
class SpanReport:
    """What an importer or the generator landed, day by day, and what it inferred about the calendar."""

    start_date: str
    end_date: str
    calendar_days: int
    trading_days: int
    closed_days: int
    closed_weekdays: list[str] = field(default_factory=list)
    closed_periods: list[str] = field(default_factory=list)  # "2009-12-24..2010-01-03 (11 days)"
    short_dates: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _runs(days: Iterable[str]) -> list[tuple[str, str, int]]:
    """Consecutive ISO dates grouped into (first, last, length) runs."""
    runs: list[tuple[str, str, int]] = []
    for day in sorted(days):
        if runs and date.fromisoformat(day) - date.fromisoformat(runs[-1][1]) == timedelta(days=1):
            first, _, length = runs[-1]
            runs[-1] = (first, day, length + 1)
        else:
            runs.append((day, day, 1))
    return runs


def infer_calendar(rows_by_day: dict[str, int], start: str, end: str) -> tuple[TradingCalendar, SpanReport]:
    """Infer closed weekdays, closed dates and short days from how many rows each day of start..end had.

    Every day without a row is closed (an export holds every sale, so a day without one did not trade);
    a weekday is reported as a closed weekday when most of its occurrences were closed; the trading days
    in the week before and after a closure of several days (Christmas) are short.
    """
    days = [str(d) for d in date_range(start, end)]
    zero = {d for d in days if rows_by_day.get(d, 0) == 0}
    closed_weekdays, notes = set(), []
    for weekday in range(7):
        occurrences = [d for d in days if date.fromisoformat(d).weekday() == weekday]
        closed = [d for d in occurrences if d in zero]
        if len(occurrences) >= MIN_WEEKS_TO_INFER and len(closed) >= CLOSED_WEEKDAY_SHARE * len(occurrences):
            closed_weekdays.add(weekday)
            notes.append(f"closed on {WEEKDAYS[weekday]}s ({len(closed)} of {len(occurrences)} without trading)")
    other_closed = {d for d in zero if date.fromisoformat(d).weekday() not in closed_weekdays}
    index = {d: i for i, d in enumerate(days)}
    short: set[str] = set()
    for first, last, length in _runs(zero):
        if length < SHORT_AROUND_CLOSURES_OF_DAYS:
            continue
        near = [*range(index[first] - SHORT_WINDOW_DAYS, index[first]),
                *range(index[last] + 1, index[last] + 1 + SHORT_WINDOW_DAYS)]
        short.update(days[i] for i in near if 0 <= i < len(days) and days[i] not in zero)
    # closures other than the closed weekdays, as runs of closed days (a break spans its Sundays too)
    periods = [f"{a}..{b} ({n} days)" if n > 1 else a for a, b, n in _runs(zero)
               if any(d in other_closed for d in days[index[a]:index[b] + 1])]
    if periods:
        notes.append(f"closed on {len(other_closed)} other day(s): " + ", ".join(periods[:12])
                     + (" ..." if len(periods) > 12 else ""))
    calendar = TradingCalendar(frozenset(closed_weekdays), frozenset(zero), frozenset(short), inferred=True)
    report = SpanReport(
        start_date=start, end_date=end, calendar_days=len(days), trading_days=len(days) - len(zero),
        closed_days=len(zero), closed_weekdays=[WEEKDAYS[d] for d in sorted(closed_weekdays)],
        closed_periods=periods, short_dates=sorted(short), notes=notes,
    )
    return calendar, report


def _empty(table: str) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in landing.TABLE_COLUMNS[table].items()})


def write_closed_days(landing_dir: Path, days: Iterable[str]) -> int:
    """An explicit empty orders and events partition for each closed day, so the span has no holes."""
    written = 0
    for day in days:
        for table in landing.DAILY_TABLES:
            if not landing.day_path(landing_dir, table, day).exists():
                landing.write_day(landing_dir, table, day, _empty(table))
        written += 1
    return written


def record_landed_span(landing_dir: Path, rows_by_day: dict[str, int], start: str, end: str) -> SpanReport:
    """For an importer: infer the calendar of start..end, land empty partitions for its closed days, and
    record the calendar in the manifest (replacing an earlier one). Returns the report to print and save."""
    calendar, report = infer_calendar(rows_by_day, start, end)
    write_closed_days(landing_dir, calendar.closed_dates)
    landing.write_manifest(landing_dir, start_date=start, end_date=end, **{MANIFEST_KEY: calendar.to_manifest()})
    return report


def declared_calendar(
    closed_weekdays: str | None, closed_dates: str | None, short_dates: str | None
) -> TradingCalendar:
    return TradingCalendar(parse_weekdays(closed_weekdays), parse_dates(closed_dates), parse_dates(short_dates))


def load_calendar(landing_dir: Path, declared: TradingCalendar | None = None) -> TradingCalendar:
    """The landed span's calendar (manifest) plus what the shop declared in settings."""
    recorded = TradingCalendar.from_manifest(landing.read_manifest(landing_dir).get(MANIFEST_KEY))
    return recorded.merged(declared) if declared else recorded
