-- every plan's expected counties of a year: received, on time
select plan_code, region_code, received, on_time, first_received_at, due_at, values_reported,
    values_asked
from agg_completeness
where year = :year
