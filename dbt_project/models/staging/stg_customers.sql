select customer_id, signup_date::date as signup_date, segment, region, country
from {{ source('raw', 'customers') }}
