"""Which days are "reference" and which are "recent" when monitoring a champion model.

The reference window is what the champion was trained on: the last ``reference_days`` days up to the
end of its training data (the ``data_end_date`` tag of its MLflow run). The recent window is the newest
``recent_days`` days of data. Both are whole days, end included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from hashiramart_assets.monitoring.drift import DateRange, DriftInputError


@dataclass(frozen=True)
class Windows:
    reference: DateRange
    recent: DateRange

    @property
    def new_days(self) -> int:
        """Days of the recent window after the reference (0: nothing arrived since training)."""
        return max(0, (self.recent.end - self.reference.end).days)


def choose_windows(last_day: date, reference_end: date, reference_days: int, recent_days: int) -> Windows:
    if reference_days < 1 or recent_days < 1:
        raise ValueError(f"reference_days and recent_days must be >= 1 (got {reference_days}, {recent_days})")
    reference = DateRange(reference_end - timedelta(days=reference_days - 1), reference_end)
    recent = DateRange(last_day - timedelta(days=recent_days - 1), last_day)
    return Windows(reference, recent)


def rows_in(frame: pd.DataFrame, date_column: str, window: DateRange) -> pd.DataFrame:
    days = pd.to_datetime(frame[date_column]).dt.normalize()
    return frame[(days >= pd.Timestamp(window.start)) & (days <= pd.Timestamp(window.end))]


def last_day(frame: pd.DataFrame, date_column: str, table: str) -> date:
    if frame.empty:
        raise DriftInputError(f"{table} is empty: there is no recent window to monitor")
    return pd.to_datetime(frame[date_column]).max().date()
