select
    order_id || '#' || line_no as order_line_id,
    order_id, line_no, order_ts, order_ts::date as date, customer_id, product_id, quantity,
    unit_price, list_price, promo, is_return, channel, country,
    round((quantity * unit_price)::numeric, 2) as line_revenue
from {{ source('raw', 'orders') }}
