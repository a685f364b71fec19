select
    order_id,
    min(order_ts) as order_ts,
    min(order_ts)::date as date,
    min(customer_id) as customer_id,
    min(channel) as channel,
    min(country) as country,
    bool_or(is_return) as is_return,
    count(*) as lines,
    sum(quantity) as units,
    round(sum(quantity * unit_price)::numeric, 2) as revenue
from {{ source('raw', 'orders') }}
group by order_id
