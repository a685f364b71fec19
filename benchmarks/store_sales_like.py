"""A store daily-sales file shaped like the Kaggle Rossmann export, with the effects real store data has.

Why not the importer's small sample (importers/store_sales_sample.py): it is built to test the importer,
with a store level, a weekly profile and a promo effect. Forecast quality on real store sales is decided by
what it leaves out, so this generator has each of them, with sizes taken from the published analyses of
the Rossmann data (1,115 stores, 2013-01-01..2015-07-31):
  - store levels spread over a decade (lognormal, median ~6,000 a day) with store-specific trends;
  - weekly profiles that differ by store type; most stores closed on Sundays, a few open every day;
  - promotions in alternating two-week blocks (Mon-Fri), +20..+50 % per store, strongest on Mondays;
  - state holidays (closed, regional by "state"), Easter and Christmas; spikes before a closed stretch
    and after reopening; December build-up; month-start (pay-day) effect; summer school holidays;
  - competitors opening during the span (-5..-25 % from then on, closer ones hurt more);
  - some stores closed for months (refurbishment: no rows at all, as in Rossmann's 180-store gap);
  - day-to-day lognormal noise.
Columns: train.csv Store, DayOfWeek, Date, Sales, Customers, Open, Promo, StateHoliday, SchoolHoliday;
store.csv Store, StoreType, Assortment, CompetitionDistance, CompetitionOpenSinceMonth,
CompetitionOpenSinceYear, Promo2. It is *like* real data, not real data: benchmark reports say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

START, END = "2013-01-01", "2015-07-31"
TYPE_WEEKLY = {  # Monday..Saturday multipliers by store type (Sunday handled by the opening rule)
    "a": [1.20, 1.02, 0.98, 0.97, 1.03, 0.80],
    "b": [1.05, 0.98, 0.96, 0.97, 1.02, 1.02],
    "c": [1.18, 1.00, 0.97, 1.00, 1.06, 0.79],
    "d": [1.15, 1.01, 0.99, 0.98, 1.04, 0.83],
}
N_STATES = 12


@dataclass(frozen=True)
class StoreSalesFiles:
    sales: Path
    stores: Path
    rows: int
    stores_count: int


def _holidays(days: pd.DatetimeIndex, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(code per state x day: '0', 'a' public, 'b' Easter, 'c' Christmas; school holiday flag per state x day)."""
    codes = np.full((N_STATES, len(days)), "0", dtype=object)
    national = {"01-01": "a", "05-01": "a", "10-03": "a", "12-25": "c", "12-26": "c"}
    easter = {2013: "2013-03-31", 2014: "2014-04-20", 2015: "2015-04-05"}
    month_day = days.strftime("%m-%d")
    for key, code in national.items():
        codes[:, month_day == key] = code
    for sunday in easter.values():
        e = pd.Timestamp(sunday)
        for offset, code in ((-2, "b"), (1, "b"), (39, "a"), (50, "a")):  # Good Friday, Easter Monday, ...
            codes[:, days == e + pd.Timedelta(days=offset)] = code
    regional = ["01-06", "06-19", "08-15", "10-31", "11-01"]
    for key in regional:
        states = rng.random(N_STATES) < 0.4
        codes[np.ix_(states, month_day == key)] = "a"
    school = np.zeros((N_STATES, len(days)), dtype=np.int8)
    for state in range(N_STATES):
        for year in (2013, 2014, 2015):
            start = pd.Timestamp(f"{year}-07-01") + pd.Timedelta(days=int(rng.integers(-10, 25)))
            school[state, (days >= start) & (days < start + pd.Timedelta(days=42))] = 1
            for month, length in ((4, 12), (10, 12), (12, 14)):
                begin = pd.Timestamp(f"{year}-{month:02d}-01") + pd.Timedelta(days=int(rng.integers(0, 20)))
                school[state, (days >= begin) & (days < begin + pd.Timedelta(days=length))] = 1
    return codes, school


def generate_store_sales(stores: int = 1115, seed: int = 11, start: str = START, end: str = END) -> tuple[
        pd.DataFrame, pd.DataFrame]:
    """(train-like frame, store-like frame); rows sorted newest day first, as in the Kaggle file."""
    rng = np.random.default_rng(seed)
    days = pd.date_range(start, end, freq="D")
    n_days = len(days)
    ids = np.arange(1, stores + 1)
    store_type = rng.choice(list("abcd"), size=stores, p=[0.54, 0.02, 0.13, 0.31])
    assortment = np.where(store_type == "b", rng.choice(list("abc"), stores, p=[0.3, 0.3, 0.4]),
                          rng.choice(list("ac"), stores, p=[0.53, 0.47]))
    level = np.exp(rng.normal(np.log(6000), 0.38, stores)) * np.where(store_type == "b", 1.6, 1.0)
    trend = rng.normal(0.0, 0.06, stores)  # log change per year
    promo_lift = rng.uniform(0.20, 0.50, stores)
    sunday_open = (store_type == "b") | (rng.random(stores) < 0.01)
    state = rng.integers(0, N_STATES, stores)
    distance = np.round(np.exp(rng.normal(np.log(2300), 1.2, stores)) / 10) * 10
    competitor_day = np.where(rng.random(stores) < 0.3, rng.integers(60, n_days - 60, stores), -1)
    competitor_hit = np.clip(0.25 - 0.04 * np.log1p(distance / 500), 0.05, 0.25)
    noise_sd = rng.uniform(0.07, 0.14, stores)
    codes, school = _holidays(days, rng)

    t = np.arange(n_days)
    dow = days.dayofweek.to_numpy()
    week_block = ((days - days[0]).days.to_numpy() // 7) % 2 == 0  # promo every other week, Mon-Fri
    promo_day = week_block & (dow < 5)
    month_start = np.where(days.day.to_numpy() <= 3, 1.06, np.where(days.day.to_numpy() >= 28, 1.03, 1.0))
    year_phase = 2 * np.pi * days.dayofyear.to_numpy() / 365.25
    seasonal = 1 + 0.04 * np.sin(year_phase - 1.2)
    december = np.where((days.month == 12) & (days.day < 24), 1 + 0.3 * days.day.to_numpy() / 23, 1.0)

    holiday = codes[state]  # stores x days
    closed = (holiday != "0") | ((dow == 6) & ~sunday_open[:, None])
    refurbished = rng.random(stores) < 0.16  # closed 2014-07-01..2014-12-31: no rows at all
    gap = (days >= "2014-07-01") & (days <= "2014-12-31")
    weekly = np.array([TYPE_WEEKLY[s] + [0.9] for s in store_type])[:, dow]
    promo = promo_day[None, :] & ~closed
    lift = 1 + promo * promo_lift[:, None] * np.where(dow == 0, 1.3, 1.0)[None, :]
    # Spike on the last open day before a closed stretch of 2+ days and on the first day after one.
    closed_next = np.zeros_like(closed)
    closed_next[:, :-2] = closed[:, 1:-1] & closed[:, 2:]
    reopen = np.zeros_like(closed)
    reopen[:, 2:] = closed[:, :-2] & closed[:, 1:-1]
    edge = 1 + 0.18 * (closed_next & ~closed) + 0.12 * (reopen & ~closed)
    comp = np.where((competitor_day[:, None] >= 0) & (t[None, :] >= competitor_day[:, None]),
                    1 - competitor_hit[:, None], 1.0)
    school_lift = 1 + 0.03 * school[state]
    mean = (level[:, None] * np.exp(trend[:, None] * t[None, :] / 365.25) * weekly * lift * edge * comp
            * school_lift * (month_start * seasonal * december)[None, :])
    sales = np.round(mean * np.exp(rng.normal(0, 1, mean.shape) * noise_sd[:, None]))
    sales = np.where(closed, 0, sales)
    customers = np.where(closed, 0, np.round(sales / rng.normal(9.5, 1.0, stores)[:, None]))

    keep = ~(refurbished[:, None] & gap[None, :])
    store_idx, day_idx = np.nonzero(keep)
    train = pd.DataFrame({
        "Store": ids[store_idx],
        "DayOfWeek": dow[day_idx] + 1,
        "Date": days[day_idx].strftime("%Y-%m-%d"),
        "Sales": sales[store_idx, day_idx].astype(np.int64),
        "Customers": customers[store_idx, day_idx].astype(np.int64),
        "Open": (~closed[store_idx, day_idx]).astype(np.int64),
        "Promo": promo[store_idx, day_idx].astype(np.int64),
        "StateHoliday": holiday[store_idx, day_idx],
        "SchoolHoliday": school[state[store_idx], day_idx],
    }).sort_values(["Date", "Store"], ascending=[False, True], kind="stable")
    since = days[np.maximum(competitor_day, 0)]
    store_frame = pd.DataFrame({
        "Store": ids,
        "StoreType": store_type,
        "Assortment": assortment,
        "CompetitionDistance": distance,
        "CompetitionOpenSinceMonth": np.where(competitor_day >= 0, since.month, np.nan),
        "CompetitionOpenSinceYear": np.where(competitor_day >= 0, since.year, np.nan),
        "Promo2": (rng.random(stores) < 0.5).astype(np.int64),
    })
    return train.reset_index(drop=True), store_frame


def write_store_sales(folder: Path, stores: int = 1115, seed: int = 11) -> StoreSalesFiles:
    """Write train.csv and store.csv into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    train, store_frame = generate_store_sales(stores=stores, seed=seed)
    sales_path, stores_path = folder / "train.csv", folder / "store.csv"
    train.to_csv(sales_path, index=False)
    store_frame.to_csv(stores_path, index=False)
    return StoreSalesFiles(sales_path, stores_path, len(train), stores)
