{# Generic tests with `config: {where: "window:<column>"}` check only the rows of the partition window
   when the run has one (start_date/end_date vars), and the whole table otherwise (no vars). Any other
   `where` works as in dbt. Rendered at run time, so the vars need no re-parse. #}
{% macro get_where_subquery(relation) -%}
  {%- set where = config.get('where', '') -%}
  {%- if where and where.startswith('window:') -%}
    {%- set where = in_window(where[7:] | trim) -%}
    {%- if where == 'true' -%}{%- set where = '' -%}{%- endif -%}
  {%- endif -%}
  {%- if where -%}
    {%- set filtered -%}
      (select * from {{ relation }} where {{ where }}) dbt_subquery
    {%- endset -%}
    {%- do return(filtered) -%}
  {%- else -%}
    {%- do return(relation) -%}
  {%- endif -%}
{%- endmacro %}
