"""One day of orders and clickstream, drawn from the day's own random stream (seed, date)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from hashiramart_assets.datagen import calendar
from hashiramart_assets.datagen.catalogue import Catalogue
from hashiramart_assets.datagen.config import EVENTS_PER_ORDER_LINE, LINES_PER_ORDER, GeneratorConfig
from hashiramart_assets.datagen.customers import N_CLUSTERS, Population

CHANNELS = np.array(["web", "app", "store"], dtype=object)
CHANNEL_P = [0.55, 0.35, 0.10]
RETURN_SHARE = 0.01
HOUR_P = np.array([1, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.5, 2.5, 3, 3.2, 3.5, 4, 3.8, 3.5, 3.5, 3.8, 4.2, 5, 6, 6.5,
                   6, 4, 2.2])
HOUR_P = HOUR_P / HOUR_P.sum()
NEW_CATEGORY_SHARE = 0.2  # share of demand the drift category takes once launched


def _product_weights(
    cfg: GeneratorConfig, catalogue: Catalogue, population: Population, day: date, promo: np.ndarray
) -> np.ndarray:
    """(N_CLUSTERS, n_products) purchase probabilities for the day: taste x popularity x promo."""
    launched = catalogue.launch_ordinal <= day.toordinal()
    base = catalogue.popularity * launched * np.where(promo, 2.0, 1.0)
    weights = population.cluster_category_pref[:, catalogue.category_index] * base
    weights = weights / weights.sum(axis=1, keepdims=True)
    new = catalogue.is_new_category & launched
    if new.any():
        new_w = np.where(new, base, 0.0)
        weights = (1 - NEW_CATEGORY_SHARE) * weights + NEW_CATEGORY_SHARE * new_w / new_w.sum()
    return weights


def _pick_products(rng: np.random.Generator, clusters: np.ndarray, weights: np.ndarray) -> np.ndarray:
    picked = np.empty(len(clusters), dtype=np.int64)
    for k in range(N_CLUSTERS):
        idx = np.flatnonzero(clusters == k)
        if len(idx):
            picked[idx] = rng.choice(weights.shape[1], len(idx), p=weights[k])
    return picked


def _stamp(day: date, seconds: np.ndarray) -> np.ndarray:
    return np.datetime64(day.isoformat(), "s") + seconds.astype("timedelta64[s]")


def generate_day(
    cfg: GeneratorConfig, catalogue: Catalogue, population: Population, day: date, mean_factor: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng([cfg.seed, 6, day.toordinal()])
    ymd = day.strftime("%Y%m%d")
    factor = calendar.demand_factor(day) / mean_factor
    expected_lines = cfg.events_per_day / EVENTS_PER_ORDER_LINE * factor
    n_orders = int(rng.poisson(expected_lines / LINES_PER_ORDER))
    promo, discount = calendar.promotions(cfg.seed, day, len(catalogue.products))
    prices = calendar.list_prices(cfg.seed, catalogue, day, cfg.price_shift_from, cfg.price_shift_factor)
    weights = _product_weights(cfg, catalogue, population, day, promo)

    # --- orders: who buys, when, how many lines ---
    eligible = population.signup_ordinal <= day.toordinal()
    p_customer = population.activity * eligible
    buyers = rng.choice(len(p_customer), n_orders, p=p_customer / p_customer.sum()) if n_orders else np.array([], int)
    order_seconds = np.sort(rng.choice(24, n_orders, p=HOUR_P) * 3600 + rng.integers(0, 3600, n_orders))
    n_lines = np.clip(1 + rng.poisson(LINES_PER_ORDER - 1, n_orders), 1, 6)
    line_order = np.repeat(np.arange(n_orders), n_lines)
    line_no = (np.arange(len(line_order)) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines) + 1).astype(np.int32)
    customer = buyers[line_order]
    clusters = population.cluster[customer]
    # --- what: staples (repeat buying), else taste-driven picks ---
    product = _pick_products(rng, clusters, weights)
    staple = population.staples[customer, rng.integers(0, population.staples.shape[1], len(customer))]
    staple_ok = catalogue.launch_ordinal[staple] <= day.toordinal()
    p_repeat = np.where(catalogue.consumable[staple], 0.45, 0.2)
    use_staple = staple_ok & (rng.random(len(customer)) < p_repeat)
    product = np.where(use_staple, staple, product)
    quantity = 1 + rng.poisson(np.where(catalogue.consumable[product], 0.8, 0.2))
    quantity = np.where(population.wholesale[customer], quantity * (4 + rng.poisson(6, len(customer))), quantity)
    list_price = prices[product]
    on_promo = promo[product]
    unit_price = np.round(list_price * (1 - discount[product]), 2)
    order_ids = np.array([f"O-{ymd}-{i:06d}" for i in range(1, n_orders + 1)], dtype=object)
    channel = CHANNELS[rng.choice(3, n_orders, p=CHANNEL_P)] if n_orders else np.array([], object)
    ts = _stamp(day, order_seconds)
    cust_ids = population.customers["customer_id"].to_numpy()
    countries = population.customers["country"].to_numpy()
    product_ids = catalogue.products["product_id"].to_numpy()
    orders = pd.DataFrame(
        {
            "order_id": order_ids[line_order] if n_orders else np.array([], object),
            "line_no": line_no,
            "order_ts": ts[line_order] if n_orders else np.array([], "datetime64[s]"),
            "customer_id": cust_ids[customer],
            "product_id": product_ids[product],
            "quantity": quantity.astype(np.int32),
            "unit_price": unit_price,
            "list_price": list_price,
            "promo": on_promo,
            "is_return": np.zeros(len(customer), dtype=bool),
            "channel": channel[line_order] if n_orders else np.array([], object),
            "country": countries[customer],
        }
    )
    # --- same-day returns of a line just bought (about 1 %) ---
    returned = np.flatnonzero(rng.random(len(orders)) < RETURN_SHARE)
    if len(returned):
        ret = orders.iloc[returned].copy()
        ret["order_id"] = [f"R-{ymd}-{i:06d}" for i in range(1, len(ret) + 1)]
        ret["line_no"] = np.int32(1)
        ret["quantity"] = -np.minimum(ret["quantity"].to_numpy(), 1 + rng.poisson(0.3, len(ret))).astype(np.int32)
        ret["is_return"] = True
        later = ret["order_ts"] + pd.to_timedelta(rng.integers(60, 7200, len(ret)), unit="s")
        ret["order_ts"] = later.where(later.dt.date == day, ret["order_ts"])
        orders = pd.concat([orders, ret], ignore_index=True)
    events = _events(cfg, rng, day, ymd, factor, orders, weights, population, catalogue)
    return orders, events


def _events(
    cfg: GeneratorConfig,
    rng: np.random.Generator,
    day: date,
    ymd: str,
    factor: float,
    orders: pd.DataFrame,
    weights: np.ndarray,
    population: Population,
    catalogue: Catalogue,
) -> pd.DataFrame:
    """Clickstream: a view and a cart before every purchased line, the purchase itself, abandoned carts,
    and taste-driven browsing views up to the day's event budget."""
    sales = orders[~orders["is_return"]]
    n_sales = len(sales)
    sale_secs = (sales["order_ts"].to_numpy() - np.datetime64(day.isoformat())) // np.timedelta64(1, "s")
    budget = int(rng.poisson(cfg.events_per_day * factor))
    n_abandoned = int(0.6 * n_sales)
    n_browse = max(budget - 3 * n_sales - n_abandoned, n_sales)
    # browsing customers: active customers, products from their taste (30 % exploration of anything launched)
    eligible = population.signup_ordinal <= day.toordinal()
    p_customer = population.activity * eligible
    n_free = n_abandoned + n_browse
    free_customer = rng.choice(len(p_customer), n_free, p=p_customer / p_customer.sum())
    free_product = _pick_products(rng, population.cluster[free_customer], weights)
    launched = np.flatnonzero(catalogue.launch_ordinal <= day.toordinal())
    explore = rng.random(n_free) < 0.3
    free_product = np.where(explore, rng.choice(launched, n_free), free_product)
    free_secs = rng.choice(24, n_free, p=HOUR_P) * 3600 + rng.integers(0, 3600, n_free)
    cust_ids = population.customers["customer_id"].to_numpy()
    product_ids = catalogue.products["product_id"].to_numpy()
    before_view = np.maximum(sale_secs - rng.integers(120, 1800, n_sales), 0)
    before_cart = np.maximum(sale_secs - rng.integers(10, 110, n_sales), 0)
    kinds = np.concatenate([
        np.full(n_sales, "view"), np.full(n_sales, "add_to_cart"), np.full(n_sales, "purchase"),
        np.full(n_abandoned, "add_to_cart"), np.full(n_browse, "view"),
    ]).astype(object)
    sale_cust = sales["customer_id"].to_numpy()
    sale_prod = sales["product_id"].to_numpy()
    customer_ids = np.concatenate([sale_cust, sale_cust, sale_cust, cust_ids[free_customer]])
    products = np.concatenate([sale_prod, sale_prod, sale_prod, product_ids[free_product]])
    secs = np.concatenate([before_view, before_cart, sale_secs, free_secs])
    order_id = np.concatenate([
        np.full(2 * n_sales, None, dtype=object), sales["order_id"].to_numpy(), np.full(n_free, None, dtype=object),
    ])
    order = np.argsort(secs, kind="stable")
    events = pd.DataFrame(
        {
            "event_ts": _stamp(day, secs[order]),
            "customer_id": customer_ids[order].astype(np.int64),
            "product_id": products[order],
            "event_type": kinds[order],
            "order_id": order_id[order],
        }
    )
    events.insert(0, "event_id", [f"E-{ymd}-{i:07d}" for i in range(1, len(events) + 1)])
    events.insert(3, "session_id", "S-" + ymd + "-" + events["customer_id"].astype(str))
    return events
