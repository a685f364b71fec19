-- Within the partition window when the run has one (macros/date_window.sql), else the whole table.
select order_line_id, quantity from {{ ref('fct_order_lines') }}
where not is_return and quantity <= 0 and {{ in_window('date') }}
