"""The long-format sales history contract: column names, defaults, and the header aliases we accept.

One place for the names so loading, features, baseline and backtest cannot drift apart.
"""

from __future__ import annotations

SERIES, DATE, SALES = "series_id", "date", "sales"
PROMO, OPEN, HOLIDAY, PRICE = "promo", "open", "holiday", "price"
# True for rows whose sales nobody observed (see ``history.fill_gaps``): they feed lags as 0 sales but
# are never a training target or an evaluation point.
IMPUTED = "imputed"

REQUIRED: tuple[str, ...] = (SERIES, DATE, SALES)
OPTIONAL: tuple[str, ...] = (PROMO, OPEN, HOLIDAY, PRICE)
HISTORY_COLUMNS: tuple[str, ...] = (SERIES, DATE, SALES, PROMO, OPEN, HOLIDAY, PRICE, IMPUTED)

# What an optional column means when the file does not have it (price unknown stays NaN: LightGBM
# treats missing as its own branch, which is more honest than inventing a price).
DEFAULTS: dict[str, float] = {PROMO: 0.0, OPEN: 1.0, HOLIDAY: 0.0, PRICE: float("nan")}

# Headers seen in common public exports (Rossmann, Favorita, M5) once reshaped to one row per series-day.
# Only used when the canonical name is absent; matching is case- and whitespace-insensitive.
ALIASES: dict[str, tuple[str, ...]] = {
    SERIES: ("series", "store", "store_id", "store_nbr", "id", "item_id", "store_item"),
    DATE: ("day", "ds", "sales_date"),
    SALES: ("units", "unit_sales", "qty", "quantity", "y"),
    PROMO: ("onpromotion", "on_promotion", "is_promo"),
    OPEN: ("is_open", "store_open"),
    HOLIDAY: ("stateholiday", "state_holiday", "is_holiday", "holiday_code"),
    PRICE: ("sell_price", "unit_price", "list_price"),
}
