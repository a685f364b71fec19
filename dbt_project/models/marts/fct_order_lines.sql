{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='date') }}
select * from {{ ref('stg_order_lines') }}
{% if is_incremental() %} where {{ date_window('date') }} {% endif %}
