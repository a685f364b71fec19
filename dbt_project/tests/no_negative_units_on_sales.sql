select order_line_id, quantity from {{ ref('fct_order_lines') }} where not is_return and quantity <= 0
