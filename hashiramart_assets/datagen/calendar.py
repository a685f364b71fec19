"""Demand seasonality, promotions and price changes: functions of the date only (and the seed)."""

from __future__ import annotations

from datetime import date

import numpy as np

from hashiramart_assets.datagen.catalogue import Catalogue

WEEKDAY_FACTOR = np.array([0.88, 0.86, 0.9, 0.95, 1.08, 1.3, 1.25])  # Monday..Sunday
PROMO_SHARE = 0.08  # share of products on promotion in a given week


def demand_factor(day: date) -> float:
    """Weekly (weekend peak) and yearly (December peak, summer bump) seasonality."""
    doy = day.timetuple().tm_yday
    yearly = 1.0 + 0.6 * np.exp(-(((doy - 350) / 12.0) ** 2)) + 0.15 * np.exp(-(((doy - 205) / 20.0) ** 2))
    return float(WEEKDAY_FACTOR[day.weekday()] * yearly)


def mean_demand_factor() -> float:
    """Average factor over a year, so a day's expected volume is rate * factor / mean."""
    return float(np.mean([demand_factor(date.fromordinal(date(2025, 1, 1).toordinal() + i)) for i in range(365)]))


def promotions(seed: int, day: date, n_products: int) -> tuple[np.ndarray, np.ndarray]:
    """(on_promo mask, discount) for the ISO week of ``day``: promos run Monday to Sunday."""
    week = day.toordinal() // 7
    rng = np.random.default_rng([seed, 4, week])
    on = rng.random(n_products) < PROMO_SHARE
    discount = np.round(rng.uniform(0.1, 0.3, n_products), 2)
    return on, np.where(on, discount, 0.0)


def list_prices(
    seed: int, catalogue: Catalogue, day: date, shift_from: date | None, shift_factor: float
) -> np.ndarray:
    """Catalogue price of every product on ``day``: base price with up to two price changes."""
    n = len(catalogue.products)
    rng = np.random.default_rng([seed, 5])
    change_day = catalogue.launch_ordinal[:, None] + rng.integers(60, 700, (n, 2))
    change_factor = rng.uniform(0.88, 1.15, (n, 2))
    applied = np.where(change_day <= day.toordinal(), change_factor, 1.0).prod(axis=1)
    price = catalogue.products["base_price"].to_numpy() * applied
    if shift_from is not None and day >= shift_from:
        price = price * shift_factor
    return np.round(price, 2)
