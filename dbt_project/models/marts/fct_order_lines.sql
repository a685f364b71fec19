{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='date',
          incremental_predicates=window_predicates(), post_hook="{{ date_index() }}") }}
select * from {{ ref('stg_order_lines') }}
{% if is_incremental() %} where {{ date_window('date', 'order_ts') }} {% endif %}
