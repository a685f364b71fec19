"""marts.daily_sales computed with pandas straight from a landing folder (orders + products.parquet).

Why: tests, benchmarks and a quick look at generated data should not need Postgres and dbt. It follows
dbt_project/models/marts/daily_sales.sql: units and revenue from non-return lines, promo when any unit
sold on promotion, list_price averaged over those lines, a date is open when it has any order line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def daily_sales_from_orders(orders: pd.DataFrame, products: pd.DataFrame) -> pd.DataFrame:
    """Rows (date, grain, item_id, category, department, units, ..., is_open) for both grains."""
    lines = orders.merge(products[["product_id", "category", "department"]], on="product_id", how="left")
    lines["date"] = pd.to_datetime(lines["order_ts"]).dt.normalize()
    sold = ~lines["is_return"].astype(bool)
    lines["units"] = np.where(sold, lines["quantity"], 0)
    lines["return_units"] = np.where(sold, 0, -lines["quantity"])
    lines["revenue"] = np.where(sold, lines["quantity"] * lines["unit_price"], 0.0)
    lines["promo_units"] = np.where(sold & lines["promo"].astype(bool), lines["quantity"], 0)
    lines["sold_list_price"] = lines["list_price"].where(sold)
    lines["sold_order"] = lines["order_id"].where(sold)
    lines["category"] = lines["category"].fillna("unknown").astype(str)
    lines["department"] = lines["department"].astype(str)
    frames = []
    for grain, key in (("product", "product_id"), ("category", "category")):
        grouped = lines.assign(item_id=lines[key].astype(str)).groupby(["date", "item_id"], observed=True)
        frame = grouped.agg(
            category=("category", "max"), department=("department", "max"), units=("units", "sum"),
            return_units=("return_units", "sum"), revenue=("revenue", "sum"), orders=("sold_order", "nunique"),
            promo_units=("promo_units", "sum"), list_price=("sold_list_price", "mean"),
        ).reset_index()
        frame.insert(1, "grain", grain)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out["promo"] = out["promo_units"] > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        out["promo_share"] = np.where(out["units"] > 0, out["promo_units"] / out["units"], 0.0)
        out["avg_price"] = np.where(out["units"] > 0, out["revenue"] / out["units"], np.nan)
    out["is_open"] = True  # every date here has order lines
    return out.drop(columns="promo_units")


def daily_sales_from_landing(landing_dir: str | Path) -> pd.DataFrame:
    """Read landing_dir/orders (hive-partitioned parquet) and products.parquet; see daily_sales_from_orders."""
    root = Path(landing_dir)
    columns = ["order_id", "order_ts", "product_id", "quantity", "unit_price", "list_price", "promo", "is_return"]
    orders = pd.read_parquet(root / "orders", columns=columns)
    products = pd.read_parquet(root / "products.parquet", columns=["product_id", "category", "department"])
    orders["product_id"] = orders["product_id"].astype(str)
    products["product_id"] = products["product_id"].astype(str)
    return daily_sales_from_orders(orders, products)
