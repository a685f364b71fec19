select product_id, name, department, category, category_path, base_price, launch_date::date as launch_date
from {{ source('raw', 'products') }}
