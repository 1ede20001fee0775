select
    c.region_code, r.name as region_name, r.parent_code, c.received, c.on_time,
    c.first_received_at, c.due_at, c.files, c.rejected_files, c.current_submission_id,
    c.review_status, c.values_reported, c.values_asked
from agg_completeness as c
inner join dim_region as r on c.region_code = r.region_code
where c.plan_code = :plan_code and c.year = :year
order by c.region_code
