"""Write a whole generated data set into the landing zone, one day at a time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from hashiramart_assets import landing
from hashiramart_assets.datagen.config import GeneratorConfig
from hashiramart_assets.datagen.corrupt import write_corrupted_day
from hashiramart_assets.datagen.events import clickstream
from hashiramart_assets.datagen.orders import RETURN_WINDOW, Sales, order_lines, simulate_sales
from hashiramart_assets.datagen.world import World, build_market, build_world

PROGRESS_EVERY_DAYS = 30


@dataclass
class GenerationSummary:
    """What one ``generate`` call wrote (row counts as generated, before any corruption)."""

    customers: int = 0
    products: int = 0
    order_lines: int = 0
    return_lines: int = 0
    events: int = 0
    days: int = 0
    first_day: str = ""
    last_day: str = ""
    seconds: float = 0.0
    landing_dir: str = ""
    paths: dict[str, str] = field(default_factory=dict)  # table -> file, or glob for daily tables
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (
            f"{self.customers:,} customers, {self.products:,} products, {self.order_lines:,} order lines "
            f"({self.return_lines:,} returns), {self.events:,} events over {self.days} days "
            f"({self.first_day}..{self.last_day}) in {self.seconds:.1f}s"
            + (f"; {'; '.join(self.notes)}" if self.notes else "")
        )


class _SalesHistory:
    """Sales of the last RETURN_WINDOW days, so today's returns can reference them.

    Days before the first generated day are simulated on demand (and not written), which is what
    makes a day's file independent of where the generated range starts.
    """

    def __init__(self, world: World) -> None:
        self.world = world
        self.by_ordinal: dict[int, Sales] = {}

    def get(self, day: date) -> Sales:
        ordinal = day.toordinal()
        if ordinal not in self.by_ordinal:
            self.by_ordinal[ordinal] = simulate_sales(self.world, build_market(self.world, day))
        return self.by_ordinal[ordinal]

    def window_before(self, day: date) -> list[Sales]:
        ordinal = day.toordinal()
        for old in [o for o in self.by_ordinal if o < ordinal - RETURN_WINDOW]:
            del self.by_ordinal[old]
        return [self.get(date.fromordinal(ordinal - k)) for k in range(RETURN_WINDOW, 0, -1)]


def generate_day(world: World, day: date, history: _SalesHistory | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(order lines, events) of one day, exactly as ``generate`` lands them before any corruption."""
    history = history or _SalesHistory(world)
    market = build_market(world, day)
    sales = simulate_sales(world, market)
    history.by_ordinal[day.toordinal()] = sales
    orders = order_lines(world, day, sales, history.window_before(day))
    return orders, clickstream(world, market, sales)


def generate(
    config: GeneratorConfig, landing_dir: Path, progress: Callable[[str], None] | None = None
) -> GenerationSummary:
    """Generate ``config``'s range into ``landing_dir``: dimension tables, every day's files, the manifest.

    Day files already there are overwritten; days outside the range are left alone, so a later range
    can be added with another call.
    """
    started = time.monotonic()
    landing_dir = Path(landing_dir)
    world = build_world(config)
    summary = GenerationSummary(
        customers=world.population.n_customers,
        products=world.catalogue.n_products,
        first_day=str(config.start),
        last_day=str(config.end),
        landing_dir=str(landing_dir),
        paths={
            "customers": str(landing.write_table(landing_dir, "customers", world.population.customers)),
            "products": str(landing.write_table(landing_dir, "products", world.catalogue.products)),
            "orders": str(landing_dir / "orders" / "date=*" / "part.parquet"),
            "events": str(landing_dir / "events" / "date=*" / "part.parquet"),
        },
    )
    history = _SalesHistory(world)
    for i, day in enumerate(config.dates(), start=1):
        orders, events = generate_day(world, day, history)
        if day == config.corrupt_day:
            note = write_corrupted_day(landing_dir, day, config.corruption, orders, events, config.seed)
            summary.notes.append(f"{day} corrupted ({config.corruption}): {note}")
        else:
            landing.write_day(landing_dir, "orders", day, orders)
            landing.write_day(landing_dir, "events", day, events)
        summary.order_lines += len(orders)
        summary.return_lines += int(orders["is_return"].sum())
        summary.events += len(events)
        summary.days = i
        if progress and (i % PROGRESS_EVERY_DAYS == 0 or i == config.days):
            progress(f"generated {i}/{config.days} days up to {day} ({summary.events:,} events, "
                     f"{summary.order_lines:,} order lines, {time.monotonic() - started:.0f}s)")
    summary.paths["manifest"] = str(
        landing.write_manifest(
            landing_dir,
            source="generator",
            start_date=str(config.start),
            end_date=str(config.end),
            seed=config.seed,
            events=config.events,
            events_per_day=config.events_per_day,
            new_category_from=str(config.new_category_from) if config.new_category_from else None,
            price_shift_from=str(config.price_shift_from) if config.price_shift_from else None,
            price_shift_factor=config.price_shift_factor,
            corrupt_day=str(config.corrupt_day) if config.corrupt_day else None,
            corruption=config.corruption if config.corrupt_day else None,
        )
    )
    summary.seconds = time.monotonic() - started
    return summary


def taste_clusters(config: GeneratorConfig) -> pd.Series:
    """The hidden taste cluster of every customer (ground truth for tests), indexed by customer_id."""
    world = build_world(config)
    customer_id = pd.Index(world.population.customers["customer_id"], name="customer_id")
    return pd.Series(world.population.cluster, index=customer_id, name="cluster")
