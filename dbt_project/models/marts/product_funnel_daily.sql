{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='date',
          incremental_predicates=window_predicates(), post_hook="{{ date_index() }}") }}
-- Clickstream per day x product, kept incrementally so popularity never rescans every event.
select date, product_id,
    count(*) filter (where event_type = 'view') as views,
    count(*) filter (where event_type = 'add_to_cart') as carts,
    count(*) filter (where event_type = 'purchase') as purchases
from {{ ref('stg_events') }}
{% if is_incremental() %} where {{ date_window('date', 'event_ts') }} {% endif %}
group by date, product_id
