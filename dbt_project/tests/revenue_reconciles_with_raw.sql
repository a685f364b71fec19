-- Marts revenue = raw order lines in Postgres (the lake's accepted rows; quarantined rows never load).
with marts as (select coalesce(sum(revenue), 0) as revenue from {{ ref('daily_sales') }} where grain = 'product'),
raw as (
    select coalesce(round(sum(quantity * unit_price)::numeric, 2), 0) as revenue
    from {{ source('raw', 'orders') }} where not is_return
)
select marts.revenue, raw.revenue from marts, raw where abs(marts.revenue - raw.revenue) > 0.01 * greatest(1, (select count(*) from {{ ref('daily_sales') }}))
