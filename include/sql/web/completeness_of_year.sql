-- every plan's expected counties of a year: received, on time
select plan_code, region_code, received, on_time, first_received_at, deadline
from agg_completeness
where year = :year
