select
    c.customer_id, c.signup_date, c.segment, c.region, c.country,
    r.recency_days, coalesce(r.frequency, 0) as frequency, coalesce(r.monetary, 0) as monetary,
    r.tenure_days, r.rfm_score,
    case
        when coalesce(r.frequency, 0) = 0 then 'prospect'
        when r.rfm_score >= 13 then 'champion'
        when r.rfm_score >= 10 then 'loyal'
        when r.recency_days > 90 then 'at_risk'
        else 'regular'
    end as rfm_segment
from {{ ref('stg_customers') }} c
left join {{ source('features', 'customer_rfm') }} r using (customer_id)
