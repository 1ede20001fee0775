-- every computed year of a plan at one region: the trend across the period
select year, indicator_code, value, status, completion_rate, expected_value, on_track
from agg_indicator_value
where plan_code = :plan_code and region_code = :region_code and basis = :basis
order by indicator_code, year
