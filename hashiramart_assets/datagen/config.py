"""What the sample-data generator is asked to produce."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

CORRUPTIONS = ("empty", "missing_column", "negative_quantity", "duplicate_order_id", "unknown_product")
EVENTS_PER_ORDER_LINE = 10  # 10M events come with about 1M order lines
LINES_PER_ORDER = 2.5


@dataclass(frozen=True)
class GeneratorConfig:
    """Scale, date range, seed, and the drift / bad-input options.

    ``events`` is the target for the whole range; the daily rate (events / days) and the seed fix the
    customers and catalogue, so generating more days at the same rate extends the data without
    changing the days already generated (each day has its own random stream).
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
        if self.corruption not in CORRUPTIONS:
            raise ValueError(f"corruption {self.corruption!r} is not one of {CORRUPTIONS}")
        if self.price_shift_factor <= 0:
            raise ValueError("price_shift_factor must be > 0")

    @property
    def events_per_day(self) -> float:
        return self.events / self.days

    @property
    def events_per_year(self) -> float:
        return self.events_per_day * 365

    @property
    def n_customers(self) -> int:
        return max(50, int(self.events_per_year / 200))

    @property
    def n_products(self) -> int:
        return int(min(5000, max(60, self.events_per_year / 2000)))
