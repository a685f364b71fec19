{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='date',
          incremental_predicates=window_predicates(), post_hook="{{ date_index() }}") }}
select * from {{ ref('stg_orders') }}
{% if is_incremental() %} where {{ date_window('date') }} {% endif %}
