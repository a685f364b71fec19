{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='date',
          incremental_predicates=window_predicates(), post_hook="{{ date_index() }}") }}
-- Two grains in one table (grain = 'product' or 'category'), so the forecaster reads one source.
with lines as (
    select l.*, p.category, p.department
    from {{ ref('stg_order_lines') }} l
    left join {{ ref('stg_products') }} p using (product_id)
    {% if is_incremental() %} where {{ date_window('l.date', 'l.order_ts') }} {% endif %}
),
open_days as (select distinct date from lines),
by_item as (
    select date, grain, item_id, max(category) as category, max(department) as department,
        sum(case when not is_return then quantity else 0 end) as units,
        sum(case when is_return then -quantity else 0 end) as return_units,
        round(sum(case when not is_return then quantity * unit_price else 0 end)::numeric, 2) as revenue,
        count(distinct case when not is_return then order_id end) as orders,
        sum(case when not is_return and promo then quantity else 0 end) as promo_units,
        avg(case when not is_return then list_price end) as list_price
    from (
        select *, 'product' as grain, product_id as item_id from lines
        union all
        select *, 'category' as grain, coalesce(category, 'unknown') as item_id from lines
    ) both_grains
    group by date, grain, item_id
)
select
    b.date, b.grain, b.item_id, b.category, b.department, b.units, b.return_units, b.revenue, b.orders,
    b.promo_units > 0 as promo,
    case when b.units > 0 then round(b.promo_units::numeric / b.units, 4) else 0 end as promo_share,
    case when b.units > 0 then round(b.revenue / b.units, 4) end as avg_price,
    round(b.list_price::numeric, 4) as list_price,
    o.date is not null as is_open
from by_item b left join open_days o using (date)
