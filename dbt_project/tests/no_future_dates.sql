select order_line_id, date from {{ ref('fct_order_lines') }} where date > current_date
