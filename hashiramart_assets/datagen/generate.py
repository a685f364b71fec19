"""Write a whole generated data set into the landing zone."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from hashiramart_assets import landing
from hashiramart_assets.datagen.calendar import mean_demand_factor
from hashiramart_assets.datagen.catalogue import build_catalogue
from hashiramart_assets.datagen.config import GeneratorConfig
from hashiramart_assets.datagen.corrupt import corrupt_day
from hashiramart_assets.datagen.customers import build_population
from hashiramart_assets.datagen.day import generate_day


@dataclass
class GenerationSummary:
    customers: int = 0
    products: int = 0
    order_lines: int = 0
    events: int = 0
    days: int = 0
    seconds: float = 0.0
    landing_dir: str = ""
    first_day: str = ""
    last_day: str = ""
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.customers} customers, {self.products} products, {self.order_lines} order lines, "
            f"{self.events} events over {self.days} days ({self.first_day}..{self.last_day}) "
            f"in {self.seconds:.1f}s" + (f"; {'; '.join(self.notes)}" if self.notes else "")
        )


def generate(
    config: GeneratorConfig, landing_dir: Path, progress: Callable[[str], None] | None = None
) -> GenerationSummary:
    started = time.monotonic()
    landing_dir = Path(landing_dir)
    catalogue = build_catalogue(config.seed, config.n_products, config.start, config.new_category_from)
    population = build_population(config.seed, config.n_customers, config.start, catalogue)
    landing.write_table(landing_dir, "customers", population.customers)
    landing.write_table(landing_dir, "products", catalogue.products)
    mean_factor = mean_demand_factor()
    summary = GenerationSummary(
        customers=len(population.customers), products=len(catalogue.products), landing_dir=str(landing_dir)
    )
    last = config.start + timedelta(days=config.days - 1)
    for offset in range(config.days):
        day = config.start + timedelta(days=offset)
        orders, events = generate_day(config, catalogue, population, day, mean_factor)
        landing.write_day(landing_dir, "orders", day, orders)
        landing.write_day(landing_dir, "events", day, events)
        if config.corrupt_day == day:
            corrupt_day(landing_dir, day, config.corruption, orders, events, config.seed)
            summary.notes.append(f"{day} corrupted: {config.corruption}")
        summary.order_lines += len(orders)
        summary.events += len(events)
        summary.days += 1
        if progress and (offset + 1) % 30 == 0:
            progress(f"generated {offset + 1}/{config.days} days ({summary.events:,} events)")
    summary.first_day, summary.last_day = str(config.start), str(last)
    summary.seconds = time.monotonic() - started
    landing.write_manifest(
        landing_dir,
        source="generator",
        start_date=str(config.start),
        end_date=str(last),
        seed=config.seed,
        events=config.events,
        new_category_from=str(config.new_category_from) if config.new_category_from else None,
        price_shift_from=str(config.price_shift_from) if config.price_shift_from else None,
        price_shift_factor=config.price_shift_factor,
        corrupt_day=str(config.corrupt_day) if config.corrupt_day else None,
        corruption=config.corruption if config.corrupt_day else None,
    )
    return summary


def taste_clusters(config: GeneratorConfig):  # -> pd.Series
    """The hidden taste cluster of every customer (ground truth for tests), indexed by customer_id."""
    import pandas as pd

    catalogue = build_catalogue(config.seed, config.n_products, config.start, config.new_category_from)
    population = build_population(config.seed, config.n_customers, config.start, catalogue)
    return pd.Series(population.cluster, index=population.customers["customer_id"], name="cluster")


__all__ = ["GenerationSummary", "date", "generate", "taste_clusters"]
