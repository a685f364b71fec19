{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='date') }}
select * from {{ ref('stg_orders') }}
{% if is_incremental() %} where {{ date_window('date') }} {% endif %}
