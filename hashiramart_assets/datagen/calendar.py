"""Everything that depends on the date alone: seasonality, promotions, list prices.

Functions of (seed, date, catalogue) only, so any day can be computed without its predecessors.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

import numpy as np

from hashiramart_assets.datagen.catalogue import Catalogue
from hashiramart_assets.datagen.ids import PROMO, stream

WEEKDAY_FACTOR = np.array([0.86, 0.84, 0.88, 0.94, 1.08, 1.32, 1.26])  # Monday..Sunday: weekend peak
HOUR_WEIGHTS = np.array([1.0, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.5, 3.0, 3.2, 3.5, 4.0, 3.8, 3.5, 3.5, 3.8,
                         4.2, 5.0, 6.0, 6.5, 6.0, 4.0, 2.2])  # evenings are busiest
HOUR_CDF = HOUR_WEIGHTS.cumsum()
# category -> (amplitude, peak day of year): gifts peak before Christmas, tees in summer, tea in winter
CATEGORY_SEASON: dict[str, tuple[float, int]] = {
    "Scale Figures": (0.35, 350), "Nendoroid": (0.3, 350), "Art Books": (0.3, 350), "Gunpla MG": (0.25, 350),
    "Bento & Tableware": (0.25, 350), "T-Shirts": (0.45, 190), "Socks": (0.2, 20), "Hoodies": (0.5, 15),
    "Green Tea": (0.25, 20), "Matcha": (0.2, 30), "Instant Ramen": (0.2, 15), "Washi Tape": (0.25, 95),
    "Notebooks": (0.35, 95), "Pens & Brushes": (0.3, 95), "Bonsai & Garden": (0.35, 120),
}
PROMO_STARTS_PER_WEEK = 0.05  # chance a product starts a promotion window in a given week
PROMO_DAYS = (3, 11)  # window length range (days), so windows can spill into the next week
PROMO_DISCOUNT = (0.1, 0.35)
PROMO_DEMAND_BOOST = 2.5


def demand_factor(day: date) -> float:
    """Weekly (weekend peak) and yearly (December peak, summer bump) seasonality of total demand."""
    doy = day.timetuple().tm_yday
    yearly = 1.0 + 0.7 * np.exp(-(((doy - 350) / 14.0) ** 2)) + 0.25 * np.exp(-(((doy - 205) / 25.0) ** 2))
    return float(WEEKDAY_FACTOR[day.weekday()] * yearly)


@cache
def mean_demand_factor() -> float:
    """Average factor over a year, so an average day gets the configured daily rate."""
    first = date(2025, 1, 1)
    return float(np.mean([demand_factor(first + timedelta(days=i)) for i in range(365)]))


def category_season(day: date, catalogue: Catalogue) -> np.ndarray:
    """Per-product demand multiplier from its category's own season (shifts the mix, not the volume)."""
    doy = day.timetuple().tm_yday
    names = catalogue.products["category"].to_numpy()
    per_category = {
        name: 1.0 + amp * np.cos(2 * np.pi * (doy - peak) / 365.25) for name, (amp, peak) in CATEGORY_SEASON.items()
    }
    categories = np.unique(catalogue.category_index, return_index=True)
    factor_of_category = np.ones(catalogue.n_categories)
    for cat, first in zip(*categories, strict=True):  # ~26 categories
        factor_of_category[cat] = per_category.get(names[first], 1.0)
    return factor_of_category[catalogue.category_index]


def promotions(seed: int, day: date, n_products: int) -> tuple[np.ndarray, np.ndarray]:
    """(on_promo, discount) per product: product x date windows of 3-10 days, drawn per week.

    A window starts in the week of ``day`` or one of the two before; each week's draws come from their own
    streams and cover products by position, so adding drift products never moves a regular promotion.
    """
    on = np.zeros(n_products, dtype=bool)
    discount = np.zeros(n_products)
    ordinal = day.toordinal()
    this_week = ordinal // 7
    for week in range(this_week - 2, this_week + 1):  # a window can reach two weeks on; later weeks win
        starts = stream(seed, PROMO, week, 0).random(n_products) < PROMO_STARTS_PER_WEEK
        first = week * 7 + stream(seed, PROMO, week, 1).integers(0, 7, n_products)
        length = stream(seed, PROMO, week, 2).integers(*PROMO_DAYS, n_products)
        rate = np.round(stream(seed, PROMO, week, 3).uniform(*PROMO_DISCOUNT, n_products), 2)
        active = starts & (first <= ordinal) & (ordinal < first + length)
        on |= active
        discount = np.where(active, rate, discount)
    return on, discount


def list_prices(catalogue: Catalogue, day: date, shift_from: date | None, shift_factor: float) -> np.ndarray:
    """Catalogue price of every product on ``day``: base price, stepped by its price changes, then drift."""
    ordinal = day.toordinal()
    applied = np.where(catalogue.change_ordinal <= ordinal, catalogue.change_factor, 1.0).prod(axis=1)
    price = catalogue.products["base_price"].to_numpy() * applied
    if shift_from is not None and day >= shift_from:
        price = price * shift_factor
    return np.maximum(np.round(price, 2), 0.01)
