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

# Durables are rarely bought twice: a customer can buy a given durable only in one of NOVELTY_SLOTS
# rotating windows of NOVELTY_DAYS (which one follows from hashes of customer and product, so no day
# needs to know earlier days). Consumables are always available and re-bought freely.
NOVELTY_SLOTS = 6
NOVELTY_DAYS = 60


def _hash_slot(positions: np.ndarray, salt: int) -> np.ndarray:
    """A fixed pseudo-random slot in 0..NOVELTY_SLOTS-1 per position (Knuth multiplicative hash)."""
    mixed = (positions.astype(np.uint64) + np.uint64(salt)) * np.uint64(2654435761) % np.uint64(2**32)
    return ((mixed >> np.uint64(8)) % np.uint64(NOVELTY_SLOTS)).astype(np.int64)


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
    product_cdf: np.ndarray  # (N_CLUSTERS, n_products) cumulative taste weights: what people look at
    purchase_cdf: np.ndarray  # (N_CLUSTERS, NOVELTY_SLOTS, n_products) what they may buy, by slot
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

    def purchase_slot(self, customers: np.ndarray) -> np.ndarray:
        """Which durables a customer may buy today: those whose product slot equals this."""
        return (self.day.toordinal() // NOVELTY_DAYS + _hash_slot(customers, 7)) % NOVELTY_SLOTS

    def pick_purchases(self, rng: np.random.Generator, clusters: np.ndarray, customers: np.ndarray) -> np.ndarray:
        """Like ``pick_products``, but durables only from the customer's current novelty slot."""
        u = rng.random(len(clusters))
        group = clusters * NOVELTY_SLOTS + self.purchase_slot(customers)
        picked = np.zeros(len(clusters), dtype=np.int64)
        cdf = self.purchase_cdf.reshape(N_CLUSTERS * NOVELTY_SLOTS, -1)
        for g in np.unique(group):  # at most N_CLUSTERS x NOVELTY_SLOTS groups, not rows
            rows = np.flatnonzero(group == g)
            fallback = self.product_cdf[g // NOVELTY_SLOTS]  # nothing buyable in the slot: plain taste
            cdf_g = cdf[g] if cdf[g, -1] > 0 else fallback
            if cdf_g[-1] > 0:
                picked[rows] = sample_cdf(cdf_g, u[rows])
        return picked


def build_market(world: World, day: date) -> Market:
    cfg, catalogue, population = world.config, world.catalogue, world.population
    ordinal = day.toordinal()
    promo, discount = calendar.promotions(cfg.seed, day, catalogue.n_products)
    launched = catalogue.launch_ordinal <= ordinal
    boost = launched * calendar.category_season(day, catalogue) * np.where(promo, calendar.PROMO_DEMAND_BOOST, 1.0)
    active = (population.signup_ordinal <= ordinal) & (ordinal < population.churn_ordinal)
    weights = daily_weights(world.taste, catalogue, boost)
    product_slot = _hash_slot(np.arange(catalogue.n_products), 3)
    buyable = np.where(
        catalogue.consumable, 1.0, NOVELTY_SLOTS * (product_slot == np.arange(NOVELTY_SLOTS)[:, None])
    )  # (NOVELTY_SLOTS, n_products); durables scaled up so their overall share is unchanged
    return Market(
        day=day,
        factor=calendar.demand_factor(day) / calendar.mean_demand_factor(),
        list_price=calendar.list_prices(catalogue, day, cfg.price_shift_from, cfg.price_shift_factor),
        promo=promo,
        discount=discount,
        launched=launched,
        product_cdf=weights.cumsum(axis=1),
        purchase_cdf=(weights[:, None, :] * buyable[None, :, :]).cumsum(axis=2),
        customer_cdf=(population.activity * active).cumsum(),
    )
