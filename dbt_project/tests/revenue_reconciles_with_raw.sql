{{ config(meta={"dagster": {"ref": {"name": "daily_sales"}}}) }}
-- Marts revenue = raw order lines in Postgres (the lake's accepted rows; quarantined rows never load).
-- A partitioned run reconciles the days it rebuilt (date = order_ts::date), a run without vars everything.
with marts as (
    select coalesce(sum(revenue), 0) as revenue from {{ ref('daily_sales') }}
    where grain = 'product' and {{ in_window('date') }}
),
raw as (
    select coalesce(round(sum(quantity * unit_price)::numeric, 2), 0) as revenue
    from {{ source('raw', 'orders') }} where not is_return and {{ in_window('order_ts') }}
)
select marts.revenue, raw.revenue from marts, raw
where abs(marts.revenue - raw.revenue)
    > 0.01 * greatest(1, (select count(*) from {{ ref('daily_sales') }} where {{ in_window('date') }}))
