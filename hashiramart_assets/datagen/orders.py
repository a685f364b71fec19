"""One day's order lines: taste-driven baskets, repeat buying, promotions, and returns of earlier buys.

A day's sales come from the (seed, SALES, day) stream alone, and each sale line's fate (returned, how
many days later, how many units) is drawn with it. A return on day D is then just a sale of day D-k
whose fate says k: it always references something the customer really bought, and any day can be
generated on its own by recomputing the sales of the RETURN_WINDOW days before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from hashiramart_assets.datagen.calendar import HOUR_CDF
from hashiramart_assets.datagen.config import EVENTS_PER_ORDER_LINE
from hashiramart_assets.datagen.customers import CHANNELS, FAVOURITES
from hashiramart_assets.datagen.ids import RETURNS, SALES, day_timestamps, numbered, sample_cdf, stream
from hashiramart_assets.datagen.world import Market, World

LINES_P = np.array([0.42, 0.26, 0.16, 0.10, 0.06])  # 1..5 lines per order
MEAN_LINES = float((np.arange(1, 6) * LINES_P).sum())
LINE_YIELD = 0.96  # share of drawn lines left after removing repeated products within an order
REPEAT_P = (0.5, 0.05)  # chance a line is one of the customer's favourites: consumable, durable
SEGMENT_QTY = np.array([0.0, 1.0, 6.0])  # extra units per line (Poisson mean) by segment
OWN_CHANNEL_P = 0.8  # share of orders placed on the customer's preferred channel
RETURN_WINDOW = 21  # days
RETURN_RATE = {  # share of sold lines returned, by department (apparel sizes, fragile figures...)
    "Apparel": 0.05, "Figures": 0.018, "Model Kits": 0.01, "Manga": 0.008, "Snacks & Ramen": 0.003,
    "Tea & Kitchen": 0.008, "Stationery": 0.005, "Home & Zen": 0.015, "Idol Merch": 0.012,
}


@dataclass(frozen=True)
class Sales:
    """Sale lines of one day, by position (customer, product), ordered by order time then line number."""

    ordinal: int
    n_orders: int
    order_secs: np.ndarray  # per order, seconds after midnight, sorted
    order: np.ndarray  # per line: order number 0..n_orders-1
    line_no: np.ndarray
    customer: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    list_price: np.ndarray
    promo: np.ndarray
    channel: np.ndarray  # index into CHANNELS
    return_after: np.ndarray  # days until the line is returned, 0 = kept
    return_quantity: np.ndarray

    @property
    def n_lines(self) -> int:
        return len(self.order)


def _within_group_number(group: np.ndarray) -> np.ndarray:
    """1, 2, ... within runs of equal values of a sorted ``group`` array."""
    return np.arange(len(group)) - np.searchsorted(group, group, side="left") + 1


def _repeated_in_order(order: np.ndarray, product: np.ndarray, n_products: int) -> np.ndarray:
    """True for lines whose product already appeared on an earlier line of the same order."""
    repeated = np.ones(len(order), dtype=bool)
    repeated[np.unique(order * n_products + product, return_index=True)[1]] = False
    return repeated


def simulate_sales(world: World, market: Market) -> Sales:
    """The day's orders: who (activity), when (hour profile), what (taste, favourites), at what price."""
    cfg, catalogue, population = world.config, world.catalogue, world.population
    ordinal = market.day.toordinal()
    rng = stream(cfg.seed, SALES, ordinal)
    expected_lines = cfg.events_per_day / EVENTS_PER_ORDER_LINE * market.factor
    n_orders = int(rng.poisson(expected_lines / (MEAN_LINES * LINE_YIELD))) if market.is_open else 0
    buyer = market.pick_customers(rng, n_orders)
    order_secs = np.sort(sample_cdf(HOUR_CDF, rng.random(n_orders)) * 3600 + rng.integers(0, 3600, n_orders))
    n_lines = 1 + sample_cdf(LINES_P.cumsum(), rng.random(n_orders))
    order = np.repeat(np.arange(n_orders), n_lines)
    customer = buyer[order]
    product = market.pick_purchases(rng, population.cluster[customer], customer)
    # repeat buying: some lines are one of the customer's favourites, consumables most often
    first_line = np.cumsum(n_lines) - n_lines
    slot = (rng.integers(0, FAVOURITES, n_orders)[order] + np.arange(len(order)) - first_line[order]) % FAVOURITES
    favourite = population.favourites[customer, slot]  # distinct favourites within an order
    p_repeat = np.where(catalogue.consumable[favourite], *REPEAT_P)
    use_favourite = market.launched[favourite] & (rng.random(len(customer)) < p_repeat)
    product = np.where(use_favourite, favourite, product)
    # one line per product within an order: a repeated pick is redrawn once, then dropped
    repeated = _repeated_in_order(order, product, catalogue.n_products)
    product[repeated] = market.pick_purchases(rng, population.cluster[customer[repeated]], customer[repeated])
    keep = np.flatnonzero(~_repeated_in_order(order, product, catalogue.n_products))
    order, customer, product = order[keep], customer[keep], product[keep]
    n = len(order)
    segment = population.segment[customer]
    base_qty = 1 + rng.poisson(np.where(catalogue.consumable[product], 0.9, 0.15))
    quantity = base_qty * (1 + rng.poisson(SEGMENT_QTY[segment]))
    list_price = market.list_price[product]
    promo = market.promo[product] & (list_price > 0.01)  # a discount needs a price to come off
    discounted = np.round(list_price * (1 - market.discount[product]), 2)
    promo_price = np.maximum(np.minimum(discounted, list_price - 0.01), 0.01)
    own = rng.random(n_orders) < OWN_CHANNEL_P
    channel = np.where(own, population.channel[buyer], rng.integers(0, len(CHANNELS), n_orders))[order]
    rate = np.array([RETURN_RATE.get(d, 0.01) for d in catalogue.department_names])[catalogue.category_index]
    returned = rng.random(n) < rate[product]
    return_after = np.where(returned, np.minimum(rng.geometric(0.2, n), RETURN_WINDOW), 0)
    return Sales(
        ordinal=ordinal,
        n_orders=n_orders,
        order_secs=order_secs,
        order=order,
        line_no=_within_group_number(order).astype(np.int32),
        customer=customer,
        product=product,
        quantity=quantity.astype(np.int32),
        unit_price=np.where(promo, promo_price, list_price),
        list_price=list_price,
        promo=promo,
        channel=channel,
        return_after=return_after,
        return_quantity=(1 + rng.binomial(quantity - 1, 0.3)).astype(np.int32),
    )


def order_lines(world: World, day: date, sales: Sales, history: Sequence[Sales]) -> pd.DataFrame:
    """The day's landed order lines: its sales, then returns of sales from ``history`` due today.

    Returns of one customer through one channel on a day form one return order ("R-..."), timed at
    random within the day; they repeat the original prices, so a promo line stays promo.
    """
    ymd = day.strftime("%Y%m%d")
    ordinal = day.toordinal()
    due = [(s, np.flatnonzero(s.return_after == ordinal - s.ordinal)) for s in history]
    ret = {
        field: np.concatenate([getattr(s, field)[rows] for s, rows in due] + [getattr(sales, field)[:0]])
        for field in ("customer", "product", "return_quantity", "unit_price", "list_price", "promo", "channel")
    }
    rng = stream(world.config.seed, RETURNS, ordinal)
    group_key = ret["customer"] * len(CHANNELS) + ret["channel"]
    keys, group = np.unique(group_key, return_inverse=True)
    ret_secs = sample_cdf(HOUR_CDF, rng.random(len(keys))) * 3600 + rng.integers(0, 3600, len(keys))
    rank = np.empty(len(keys), dtype=np.int64)  # return orders numbered by time
    rank[np.argsort(ret_secs, kind="stable")] = np.arange(len(keys))
    by_order = np.lexsort((np.arange(len(group)), rank[group]))
    ret = {field: values[by_order] for field, values in ret.items()}
    ret_order = rank[group][by_order]
    customer_ids = world.population.customers["customer_id"].to_numpy()
    countries = world.population.customers["country"].to_numpy()
    product_ids = world.catalogue.products["product_id"].to_numpy()
    channels = np.array(CHANNELS, dtype=object)
    n_sales, n_ret = sales.n_lines, len(ret_order)
    frame = pd.DataFrame(
        {
            "order_id": np.concatenate([
                numbered(f"O-{ymd}-", sales.n_orders, 6)[sales.order],
                numbered(f"R-{ymd}-", len(keys), 6)[ret_order],
            ]),
            "line_no": np.concatenate([sales.line_no, _within_group_number(ret_order)]).astype(np.int32),
            "order_ts": day_timestamps(
                day, np.concatenate([sales.order_secs[sales.order], np.sort(ret_secs)[ret_order]])
            ),
            "customer_id": customer_ids[np.concatenate([sales.customer, ret["customer"]])],
            "product_id": product_ids[np.concatenate([sales.product, ret["product"]])],
            "quantity": np.concatenate([sales.quantity, -ret["return_quantity"]]).astype(np.int32),
            "unit_price": np.concatenate([sales.unit_price, ret["unit_price"]]),
            "list_price": np.concatenate([sales.list_price, ret["list_price"]]),
            "promo": np.concatenate([sales.promo, ret["promo"]]).astype(bool),
            "is_return": np.concatenate([np.zeros(n_sales, dtype=bool), np.ones(n_ret, dtype=bool)]),
            "channel": channels[np.concatenate([sales.channel, ret["channel"]])],
            "country": countries[np.concatenate([sales.customer, ret["customer"]])],
        }
    )
    return frame.iloc[np.argsort(frame["order_ts"].to_numpy(), kind="stable")].reset_index(drop=True)
