with sales as (
    select product_id, count(distinct customer_id) as buyers, sum(quantity) as units, sum(line_revenue) as revenue
    from {{ ref('fct_order_lines') }} where not is_return group by product_id
),
funnel as (
    select product_id, sum(views) as views, sum(carts) as carts, sum(purchases) as purchases
    from {{ ref('product_funnel_daily') }} group by product_id
)
select
    p.product_id, p.category, p.department,
    coalesce(s.buyers, 0) as buyers, coalesce(s.units, 0) as units, coalesce(s.revenue, 0) as revenue,
    coalesce(f.views, 0) as views, coalesce(f.carts, 0) as carts, coalesce(f.purchases, 0) as purchases,
    case when coalesce(f.views, 0) > 0 then round(f.purchases::numeric / f.views, 4) end as view_to_purchase,
    rank() over (order by coalesce(s.buyers, 0) desc, p.product_id) as popularity_rank
from {{ ref('dim_products') }} p
left join sales s using (product_id)
left join funnel f using (product_id)
