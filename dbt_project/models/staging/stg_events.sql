select event_id, event_ts, event_ts::date as date, customer_id, session_id, product_id, event_type, order_id
from {{ source('raw', 'events') }}
