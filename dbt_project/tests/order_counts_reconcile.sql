-- Every raw order id reaches fct_orders exactly once.
select count(distinct order_id) as raw_orders, (select count(*) from {{ ref('fct_orders') }}) as mart_orders
from {{ source('raw', 'orders') }}
having count(distinct order_id) <> (select count(*) from {{ ref('fct_orders') }})
