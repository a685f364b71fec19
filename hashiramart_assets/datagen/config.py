"""What the sample-data generator is asked to produce, and the scale it derives from that."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

CORRUPTIONS = ("empty", "missing_column", "negative_quantity", "duplicate_order_id", "unknown_product")

# Customers sign up and products launch relative to this fixed day, never relative to ``start``, so a
# range generated in two calls (a later start the second time) sees the very same world as one call.
ANCHOR = date(2025, 1, 1)
EVENTS_PER_ORDER_LINE = 10  # 10M clickstream events come with about 1M order lines
EVENTS_PER_CUSTOMER = 200  # per year of data
EVENTS_PER_PRODUCT = 2000  # per year of data
MIN_CUSTOMERS, MIN_PRODUCTS, MAX_PRODUCTS = 50, 60, 5000


@dataclass(frozen=True)
class GeneratorConfig:
    """Scale, date range, seed, and the drift / bad-input options.

    ``events`` is the target for the whole range. What actually drives the data is the rate
    ``events / days``, annualised and rounded to 3 significant digits: it sets each day's volume and the
    number of customers and products. So two calls that split a range with events proportional to their
    days (or one call over the whole range) produce identical day files and dimension tables.
    """

    events: int = 200_000
    start: date = date(2025, 1, 1)
    days: int = 365
    seed: int = 42
    new_category_from: date | None = None
    price_shift_from: date | None = None
    price_shift_factor: float = 1.25
    corrupt_day: date | None = None
    corruption: str = "negative_quantity"

    def __post_init__(self) -> None:
        if self.events < 100 or self.days < 1:
            raise ValueError(f"need events >= 100 and days >= 1 (got events={self.events}, days={self.days})")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0 (got {self.seed})")
        if self.corruption not in CORRUPTIONS:
            raise ValueError(f"corruption {self.corruption!r} is not one of {CORRUPTIONS}")
        if self.price_shift_factor <= 0:
            raise ValueError(f"price_shift_factor must be > 0 (got {self.price_shift_factor})")
        if self.corrupt_day is not None and not self.start <= self.corrupt_day <= self.end:
            raise ValueError(f"corrupt_day {self.corrupt_day} is outside {self.start}..{self.end}")

    @property
    def end(self) -> date:
        """Last generated day (inclusive)."""
        return self.start + timedelta(days=self.days - 1)

    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(self.days)]

    @property
    def events_per_year(self) -> float:
        """The annualised scale, to 3 significant digits so that proportional splits agree exactly."""
        return float(f"{self.events * 365 / self.days:.3g}")

    @property
    def events_per_day(self) -> float:
        """Mean events of an average day (seasonality moves actual days around it)."""
        return self.events_per_year / 365

    @property
    def n_customers(self) -> int:
        return max(MIN_CUSTOMERS, round(self.events_per_year / EVENTS_PER_CUSTOMER))

    @property
    def n_products(self) -> int:
        """Regular catalogue size; the new-category drift option adds its products on top."""
        return int(min(MAX_PRODUCTS, max(MIN_PRODUCTS, round(self.events_per_year / EVENTS_PER_PRODUCT))))
