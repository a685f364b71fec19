{# Rows of an incremental model to (re)build: the partition window when given, else days after the
   newest day already in the table. Used with the delete+insert strategy on the date column. #}
{% macro date_window(column) -%}
  {% if var('start_date') %}
    {{ column }} >= '{{ var("start_date") }}'::date and {{ column }} < '{{ var("end_date") }}'::date
  {% else %}
    {{ column }} > (select coalesce(max(date), '1900-01-01'::date) from {{ this }})
  {% endif %}
{%- endmacro %}
