{{ config(meta={"dagster": {"ref": {"name": "fct_orders"}}}) }}
-- Every raw order id reaches fct_orders exactly once. A partitioned run checks the orders with a line in
-- its window (and every fct_orders row dated in it: such an order's first line is in the window too);
-- a run without vars checks all orders, as in_window() is then true.
with raw_lines as (
    select order_id from {{ source('raw', 'orders') }} where {{ in_window('order_ts') }}
),
mart_orders as (
    select order_id from {{ ref('fct_orders') }}
    where order_id in (select order_id from raw_lines) or ({{ in_window('date') }})
)
select raw.n as raw_orders, mart.n as mart_orders
from (select count(distinct order_id) as n from raw_lines) raw, (select count(*) as n from mart_orders) mart
where raw.n <> mart.n
