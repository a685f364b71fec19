-- Inputs for customer lifetime value (BG/NBD-style): first/last order, orders, revenue, basket.
select
    customer_id,
    min(date) as first_order_date,
    max(date) as last_order_date,
    count(*) as orders,
    sum(revenue) as revenue,
    round(avg(revenue), 2) as average_basket
from {{ ref('fct_orders') }}
where not is_return
group by customer_id
