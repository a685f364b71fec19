"""The feature layer in DuckDB: a single-machine baseline to compare Spark against.

Same definitions as hashiramart_assets/spark/features.py (weights, decay, RFM, daily sales), written
as SQL over the raw lake's Parquet files.
"""

from __future__ import annotations

import math

import duckdb


def build_all(lake_root: str, out_dir: str, half_life_days: float = 60.0) -> dict[str, int]:
    con = duckdb.connect()
    con.execute("SET threads TO 2")
    raw = f"{lake_root}/raw"
    con.execute(f"CREATE VIEW orders AS SELECT * FROM read_parquet('{raw}/orders/*/*.parquet')")
    con.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{raw}/events/*/*.parquet')")
    con.execute(f"CREATE VIEW customers AS SELECT * FROM read_parquet('{raw}/customers/part.parquet')")
    con.execute(f"CREATE VIEW products AS SELECT * FROM read_parquet('{raw}/products/part.parquet')")
    as_of = con.execute(
        "SELECT greatest((SELECT max(order_ts::date) FROM orders), (SELECT max(event_ts::date) FROM events))"
    ).fetchone()[0]
    rate = math.log(2) / half_life_days
    decay = f"exp(-{rate} * greatest(date_diff('day', ts::date, DATE '{as_of}'), 0))"
    queries = {
        "interactions": f"""
            WITH parts AS (
              SELECT customer_id, product_id, event_ts AS ts,
                     (event_type = 'view')::BIGINT AS views, (event_type = 'add_to_cart')::BIGINT AS carts,
                     0::BIGINT AS purchases, CASE WHEN event_type = 'view' THEN 1.0 ELSE 3.0 END AS base
              FROM events WHERE event_type IN ('view', 'add_to_cart')
              UNION ALL
              SELECT customer_id, product_id, order_ts, 0, 0, quantity, 5.0 * ln(1 + quantity)
              FROM orders WHERE NOT is_return AND quantity > 0)
            SELECT customer_id, product_id, sum(base * {decay}) AS weight, sum(views) AS views,
                   sum(carts) AS carts, sum(purchases) AS purchases, max(ts) AS last_interaction_ts
            FROM parts GROUP BY ALL HAVING sum(base * {decay}) > 0""",
        "customer_rfm": f"""
            WITH per AS (
              SELECT customer_id, max(order_ts::date) AS last_order, count(DISTINCT order_id) AS frequency,
                     sum(quantity * unit_price) AS monetary
              FROM orders WHERE NOT is_return AND quantity > 0 GROUP BY ALL),
            base AS (
              SELECT c.customer_id, date_diff('day', p.last_order, DATE '{as_of}') AS recency_days,
                     coalesce(p.frequency, 0) AS frequency, round(coalesce(p.monetary, 0), 2) AS monetary,
                     greatest(date_diff('day', c.signup_date::date, DATE '{as_of}'), 0) AS tenure_days, c.segment
              FROM customers c LEFT JOIN per p USING (customer_id))
            SELECT *, CASE WHEN frequency > 0 THEN
                ntile(5) OVER (PARTITION BY frequency > 0 ORDER BY recency_days DESC, customer_id)
              + ntile(5) OVER (PARTITION BY frequency > 0 ORDER BY frequency, customer_id)
              + ntile(5) OVER (PARTITION BY frequency > 0 ORDER BY monetary, customer_id) END AS rfm_score
            FROM base""",
        "daily_sales": """
            WITH agg AS (
              SELECT order_ts::date AS date, product_id,
                     sum(CASE WHEN NOT is_return AND quantity > 0 THEN quantity ELSE 0 END) AS units,
                     sum(CASE WHEN is_return THEN -quantity ELSE 0 END) AS return_units,
                     round(sum(CASE WHEN NOT is_return AND quantity > 0 THEN quantity * unit_price ELSE 0 END), 2)
                       AS revenue,
                     count(DISTINCT CASE WHEN NOT is_return AND quantity > 0 THEN order_id END) AS orders,
                     sum(CASE WHEN NOT is_return AND quantity > 0 AND promo THEN quantity ELSE 0 END) AS promo_units,
                     avg(CASE WHEN NOT is_return AND quantity > 0 THEN list_price END) AS list_price
              FROM orders GROUP BY ALL)
            SELECT a.date, a.product_id, coalesce(p.category, 'unknown') AS category,
                   coalesce(p.department, 'unknown') AS department, units, return_units, revenue, orders,
                   CASE WHEN units > 0 THEN promo_units / units ELSE 0 END AS promo_share,
                   CASE WHEN units > 0 THEN round(revenue / units, 4) END AS avg_price,
                   round(a.list_price, 4) AS list_price, dayofweek(a.date) + 1 AS day_of_week,
                   month(a.date) AS month, dayofweek(a.date) IN (0, 6) AS is_weekend
            FROM agg a LEFT JOIN products p USING (product_id)""",
    }
    counts = {}
    for name, sql in queries.items():
        con.execute(f"COPY ({sql}) TO '{out_dir}/{name}.parquet' (FORMAT parquet)")
        counts[name] = con.execute(f"SELECT count(*) FROM '{out_dir}/{name}.parquet'").fetchone()[0]
    return counts
