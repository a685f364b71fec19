{# Rows of an incremental model to (re)build: the partition window when given, else days after the
   newest day already in the table. Used with the delete+insert strategy on the date column.
   ts_column: the timestamp the date is derived from (date = ts_column::date, timestamp without time zone);
   filtering on it instead is equivalent and lets Postgres use the raw tables' timestamp index, so one
   day reads one day of rows, not every row of the view. #}
{% macro date_window(column, ts_column=none) -%}
  {% if var('start_date') %}
    {% if ts_column %}
      {{ ts_column }} >= '{{ var("start_date") }}'::date and {{ ts_column }} < '{{ var("end_date") }}'::date
    {% else %}
      {{ column }} >= '{{ var("start_date") }}'::date and {{ column }} < '{{ var("end_date") }}'::date
    {% endif %}
  {% elif ts_column %}
    {{ ts_column }} >= (select coalesce(max(date), '1900-01-01'::date) + 1 from {{ this }})
  {% else %}
    {{ column }} > (select coalesce(max(date), '1900-01-01'::date) from {{ this }})
  {% endif %}
{%- endmacro %}

{# A data test's filter: the partition window when the run has one (the rows this run rebuilt), else
   true (the whole table). Rows outside the window were tested by the run that built them. #}
{% macro in_window(column) -%}
  {%- if var('start_date') -%}
    {{ column }} >= '{{ var("start_date") }}'::date and {{ column }} < '{{ var("end_date") }}'::date
  {%- else -%}
    true
  {%- endif -%}
{%- endmacro %}

{# Index the date column of an incremental model (post-hook): delete+insert deletes by date and the
   windowed tests filter by date, so neither scans the whole table. Idempotent. #}
{% macro date_index() -%}
  create index if not exists "{{ this.identifier }}_date_idx" on {{ this }} (date)
{%- endmacro %}

{# delete+insert deletes `where date in (select distinct date from <new rows>)`; the new rows' temp table
   has no statistics, so Postgres scans the whole target. Bounding the delete by the partition window
   (the new rows all lie in it) lets it use the date index. No window: nothing to add. #}
{% macro window_predicates() -%}
  {%- if var('start_date') -%}
    {{ return(["DBT_INTERNAL_DEST.date >= '" ~ var('start_date') ~ "'::date and DBT_INTERNAL_DEST.date < '"
               ~ var('end_date') ~ "'::date"]) }}
  {%- else -%}
    {{ return([]) }}
  {%- endif -%}
{%- endmacro %}
