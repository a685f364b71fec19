"""A small seeded store daily-sales file in the Rossmann layout, for tests and trying the importer.

train.csv columns: Store, DayOfWeek, Date, Sales, Customers, Open, Promo, StateHoliday, SchoolHoliday;
store.csv: Store, StoreType, Assortment, CompetitionDistance, Promo2. Every store has a row every day, as
in Rossmann: Sundays are closed (Open 0, Sales 0), so are a few public holidays (StateHoliday "a"), and
``refurbishments`` stores close alone for a stretch of days while the others trade. Sales follow a store
level, a weekly profile, promotions (+25 %) and noise, so a forecaster has something to learn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

WEEKLY = np.array([1.15, 0.95, 0.92, 0.95, 1.05, 1.1, 0.0])  # Monday..Sunday; Sunday closed
HOLIDAY_OFFSETS = (24, 95, 151)  # days after the start that are public holidays (all stores closed)


@dataclass(frozen=True)
class SampleSummary:
    sales_file: Path
    stores_file: Path
    rows: int
    open_rows: int
    closed_rows: int
    shop_closed_days: int  # days on which no store trades (Sundays and holidays)
    refurbished_store_days: int


def write_sample(
    folder: Path, stores: int = 20, days: int = 200, start: date = date(2024, 1, 1), seed: int = 7,
    refurbishments: int = 3, refurbishment_days: int = 10, noise: float = 0.08,
) -> SampleSummary:
    """Write ``train.csv`` and ``store.csv`` into ``folder`` (rows sorted like Rossmann: newest day first)."""
    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    dates = pd.date_range(start, periods=days, freq="D")
    holidays = {dates[i] for i in HOLIDAY_OFFSETS if i < days}
    store_ids = np.arange(1, stores + 1)
    level = rng.uniform(3000, 9000, stores)
    promo_days = (dates.dayofweek < 5) & ((np.arange(days) // 7) % 2 == 0)  # every other week, Mon-Fri
    grid = pd.DataFrame({"Store": np.repeat(store_ids, days), "Date": np.tile(dates, stores)})
    grid["DayOfWeek"] = grid["Date"].dt.dayofweek + 1
    grid["Promo"] = np.tile(promo_days.astype(int), stores)
    holiday = grid["Date"].isin(holidays)
    grid["StateHoliday"] = np.where(holiday, "a", "0")
    grid["SchoolHoliday"] = ((grid["Date"].dt.month == 8) | holiday).astype(int)
    closed = (grid["DayOfWeek"] == 7) | holiday
    refurbished = np.zeros(len(grid), dtype=bool)
    for store in rng.choice(store_ids, size=min(refurbishments, stores), replace=False):
        first = int(rng.integers(30, max(31, days - refurbishment_days - 30)))
        span = dates[first:first + refurbishment_days]
        refurbished |= ((grid["Store"] == store) & grid["Date"].isin(span)).to_numpy()
    closed |= refurbished
    trend = 1 + 0.0005 * (grid["Date"] - dates[0]).dt.days
    mean = level[grid["Store"] - 1] * WEEKLY[grid["DayOfWeek"] - 1] * (1 + 0.25 * grid["Promo"]) * trend
    sales = np.round(mean * rng.lognormal(0, noise, len(grid)))
    grid["Open"] = (~closed).astype(int)
    grid["Sales"] = np.where(closed, 0, sales).astype(int)
    grid["Customers"] = np.where(closed, 0, np.round(grid["Sales"] / rng.uniform(8, 11, len(grid)))).astype(int)
    grid["Date"] = grid["Date"].dt.strftime("%Y-%m-%d")
    columns = ["Store", "DayOfWeek", "Date", "Sales", "Customers", "Open", "Promo", "StateHoliday", "SchoolHoliday"]
    train = grid.sort_values(["Date", "Store"], ascending=[False, True])[columns]
    sales_file, stores_file = folder / "train.csv", folder / "store.csv"
    train.to_csv(sales_file, index=False)
    pd.DataFrame({
        "Store": store_ids,
        "StoreType": rng.choice(list("abcd"), stores),
        "Assortment": rng.choice(list("abc"), stores),
        "CompetitionDistance": rng.integers(100, 20000, stores),
        "Promo2": rng.integers(0, 2, stores),
    }).to_csv(stores_file, index=False)
    shop_closed = sum(1 for d in dates if d.dayofweek == 6 or d in holidays)
    return SampleSummary(sales_file, stores_file, len(train), int((~closed).sum()), int(closed.sum()),
                         shop_closed, int(refurbished.sum()))

