"""One day's clickstream: purchase sessions that lead to the day's orders, and browse-only sessions.

Every sale line gets a view and an add_to_cart in the session that ends with its order and a purchase
event carrying the order id, so events and order lines agree exactly. Browse sessions (views and
abandoned carts) fill the day's event budget; their products follow the customer's taste, with some
exploration and some revisits of favourites.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from hashiramart_assets.datagen.calendar import HOUR_CDF
from hashiramart_assets.datagen.customers import FAVOURITES
from hashiramart_assets.datagen.ids import EVENTS, day_timestamps, numbered, sample_cdf, stream
from hashiramart_assets.datagen.orders import Sales
from hashiramart_assets.datagen.world import Market, World

VIEW, CART, PURCHASE = 0, 1, 2
EVENT_TYPES = np.array(["view", "add_to_cart", "purchase"], dtype=object)
EXTRA_VIEWS_PER_ORDER = 1.2  # Poisson mean of views of other products in a purchase session
SESSION_P = 0.25  # geometric: browse sessions have 4 events on average
BROWSE_CART_P = 0.14  # share of browse events that are (abandoned) add_to_cart
EXPLORE_P = 0.2  # browse events on any launched product, ignoring taste
FAVOURITE_P = 0.1  # browse events revisiting one of the customer's favourites
MEAN_GAP_SECONDS = 45.0
LAST_SECOND = 86_399


def _browse_products(rng: np.random.Generator, world: World, market: Market, customer: np.ndarray) -> np.ndarray:
    n = len(customer)
    if n == 0 or not market.is_open:
        return np.zeros(n, dtype=np.int64)
    product = market.pick_products(rng, world.population.cluster[customer])
    launched = np.flatnonzero(market.launched)
    anything = launched[rng.integers(0, len(launched), n)]
    favourite = world.population.favourites[customer, rng.integers(0, FAVOURITES, n)]
    u = rng.random(n)
    product = np.where(u < EXPLORE_P, anything, product)
    revisit = (u >= EXPLORE_P) & (u < EXPLORE_P + FAVOURITE_P) & market.launched[favourite]
    return np.where(revisit, favourite, product)


def _offsets_in_groups(group_start: np.ndarray, values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running sum of ``values`` within groups (rows sorted by group), excluding the row itself."""
    csum = np.cumsum(values) - values
    return csum - csum[group_start][group]


def clickstream(world: World, market: Market, sales: Sales) -> pd.DataFrame:
    """The day's events, ordered by time, with sessions numbered by start and event ids in time order."""
    cfg, population = world.config, world.population
    ordinal = market.day.toordinal()
    ymd = market.day.strftime("%Y%m%d")
    rng = stream(cfg.seed, EVENTS, ordinal)
    budget = int(rng.poisson(cfg.events_per_day * market.factor))

    # --- purchase sessions: one per order, ending at the order time ---
    n_orders = sales.n_orders
    order_customer = np.zeros(n_orders, dtype=np.int64)
    order_customer[sales.order] = sales.customer
    extra = rng.poisson(EXTRA_VIEWS_PER_ORDER, n_orders)
    extra_order = np.repeat(np.arange(n_orders), extra)
    extra_pos = np.arange(len(extra_order)) - np.repeat(np.cumsum(extra) - extra, extra)
    extra_product = _browse_products(rng, world, market, order_customer[extra_order])
    line_pos = extra[sales.order] + 2 * (sales.line_no.astype(np.int64) - 1)
    pre_order = np.concatenate([extra_order, sales.order, sales.order])
    pre_pos = np.concatenate([extra_pos, line_pos, line_pos + 1])
    by_session = np.lexsort((pre_pos, pre_order))
    pre_order, pre_pos = pre_order[by_session], pre_pos[by_session]
    pre_type = np.concatenate([np.full(len(extra_order) + sales.n_lines, VIEW), np.full(sales.n_lines, CART)])
    pre_type = pre_type[by_session]
    pre_product = np.concatenate([extra_product, sales.product, sales.product])[by_session]
    pre_count = np.bincount(pre_order, minlength=n_orders)
    gap = 1 + rng.exponential(MEAN_GAP_SECONDS, len(pre_order)).astype(np.int64)
    first = np.cumsum(pre_count) - pre_count
    before = np.add.reduceat(gap, first) if n_orders else np.zeros(0, dtype=np.int64)  # session length
    pre_secs = sales.order_secs[pre_order] - before[pre_order] + _offsets_in_groups(first, gap, pre_order)
    pre_secs = np.maximum(pre_secs, 0)

    # --- browse-only sessions fill the rest of the budget ---
    remaining = budget - len(pre_order) - sales.n_lines if market.is_open else 0
    drawn = max(int(remaining * SESSION_P * 1.3) + 8, 0)
    lengths = rng.geometric(SESSION_P, drawn)
    total = np.cumsum(lengths)
    n_sessions = int(np.searchsorted(total, remaining)) + 1 if remaining > 0 else 0
    n_sessions = min(n_sessions, drawn)
    lengths = lengths[:n_sessions].copy()
    if n_sessions and total[n_sessions - 1] > remaining:
        lengths[-1] -= total[n_sessions - 1] - remaining
    browse_customer = market.pick_customers(rng, n_sessions)
    browse_start = sample_cdf(HOUR_CDF, rng.random(n_sessions)) * 3600 + rng.integers(0, 3600, n_sessions)
    browse_session = np.repeat(np.arange(n_sessions), lengths)
    browse_first = np.cumsum(lengths) - lengths
    browse_gap = 1 + rng.exponential(MEAN_GAP_SECONDS, len(browse_session)).astype(np.int64)
    browse_pos = np.arange(len(browse_session)) - browse_first[browse_session]
    browse_secs = np.minimum(
        browse_start[browse_session] + _offsets_in_groups(browse_first, browse_gap, browse_session), LAST_SECOND
    )
    browse_cust_rows = browse_customer[browse_session]
    browse_type = np.where(rng.random(len(browse_session)) < BROWSE_CART_P, CART, VIEW)
    browse_product = _browse_products(rng, world, market, browse_cust_rows)

    # --- sessions numbered by start time; events ordered by time ---
    session_start = np.concatenate([pre_secs[first] if n_orders else np.zeros(0, np.int64), browse_start])
    session_rank = np.empty(len(session_start), dtype=np.int64)
    session_rank[np.argsort(session_start, kind="stable")] = np.arange(len(session_start))
    session = np.concatenate([pre_order, sales.order, n_orders + browse_session])
    position = np.concatenate([pre_pos, pre_count[sales.order] + sales.line_no - 1, browse_pos])
    secs = np.concatenate([pre_secs, sales.order_secs[sales.order], browse_secs])
    order = np.lexsort((position, session_rank[session], secs))
    customer = np.concatenate([order_customer[pre_order], sales.customer, browse_cust_rows])[order]
    product = np.concatenate([pre_product, sales.product, browse_product])[order]
    event_type = np.concatenate([pre_type, np.full(sales.n_lines, PURCHASE), browse_type])[order]
    order_ids = numbered(f"O-{ymd}-", n_orders, 6)[sales.order]
    order_id = np.concatenate([np.full(len(pre_order), None, dtype=object), order_ids,
                               np.full(len(browse_session), None, dtype=object)])[order]
    return pd.DataFrame(
        {
            "event_id": numbered(f"E-{ymd}-", len(order), 7),
            "event_ts": day_timestamps(market.day, secs[order]),
            "customer_id": population.customers["customer_id"].to_numpy()[customer],
            "session_id": numbered(f"S-{ymd}-", len(session_start), 6)[session_rank[session[order]]],
            "product_id": world.catalogue.products["product_id"].to_numpy()[product],
            "event_type": EVENT_TYPES[event_type],
            "order_id": order_id,
        }
    )
