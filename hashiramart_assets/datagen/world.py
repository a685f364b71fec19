"""The generated world (catalogue, tastes, customers) and one day's market conditions within it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from hashiramart_assets.datagen import calendar
from hashiramart_assets.datagen.catalogue import Catalogue, build_catalogue
from hashiramart_assets.datagen.config import GeneratorConfig
from hashiramart_assets.datagen.customers import Population, build_population
from hashiramart_assets.datagen.ids import sample_cdf
from hashiramart_assets.datagen.taste import N_CLUSTERS, Taste, build_taste, daily_weights


@dataclass(frozen=True)
class World:
    """What stays fixed over the generated range; a function of the config's seed and scale only."""

    config: GeneratorConfig
    catalogue: Catalogue
    taste: Taste
    population: Population


def build_world(config: GeneratorConfig) -> World:
    catalogue = build_catalogue(config.seed, config.n_products, config.new_category_from)
    taste = build_taste(config.seed, catalogue)
    population = build_population(config.seed, config.n_customers, catalogue, taste)
    return World(config, catalogue, taste, population)


@dataclass(frozen=True)
class Market:
    """One day's prices, promotions, demand level and who/what can be drawn, shared by orders and events."""

    day: date
    factor: float  # demand relative to an average day
    list_price: np.ndarray  # per product
    promo: np.ndarray  # bool per product
    discount: np.ndarray  # per product, 0 when not on promotion
    launched: np.ndarray  # bool per product
    product_cdf: np.ndarray  # (N_CLUSTERS, n_products) cumulative taste weights
    customer_cdf: np.ndarray  # cumulative activity of customers signed up and not churned

    @property
    def is_open(self) -> bool:
        """False on days before any customer signed up or any product launched (far before ANCHOR)."""
        return bool(len(self.customer_cdf) and self.customer_cdf[-1] > 0 and self.launched.any())

    def pick_customers(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return sample_cdf(self.customer_cdf, rng.random(n))

    def pick_products(self, rng: np.random.Generator, clusters: np.ndarray) -> np.ndarray:
        """A product per entry of ``clusters``, drawn from that cluster's taste for the day."""
        u = rng.random(len(clusters))
        picked = np.zeros(len(clusters), dtype=np.int64)
        for k in range(N_CLUSTERS):  # a loop over clusters, not rows
            rows = np.flatnonzero(clusters == k)
            if len(rows) and self.product_cdf[k, -1] > 0:
                picked[rows] = sample_cdf(self.product_cdf[k], u[rows])
        return picked


def build_market(world: World, day: date) -> Market:
    cfg, catalogue, population = world.config, world.catalogue, world.population
    ordinal = day.toordinal()
    promo, discount = calendar.promotions(cfg.seed, day, catalogue.n_products)
    launched = catalogue.launch_ordinal <= ordinal
    boost = launched * calendar.category_season(day, catalogue) * np.where(promo, calendar.PROMO_DEMAND_BOOST, 1.0)
    active = (population.signup_ordinal <= ordinal) & (ordinal < population.churn_ordinal)
    return Market(
        day=day,
        factor=calendar.demand_factor(day) / calendar.mean_demand_factor(),
        list_price=calendar.list_prices(catalogue, day, cfg.price_shift_from, cfg.price_shift_factor),
        promo=promo,
        discount=discount,
        launched=launched,
        product_cdf=daily_weights(world.taste, catalogue, boost).cumsum(axis=1),
        customer_cdf=(population.activity * active).cumsum(),
    )
