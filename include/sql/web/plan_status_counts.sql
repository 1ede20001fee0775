-- one plan's indicators by status at its own region, for the year overview
select status, count(*) as indicators
from agg_indicator_value
where plan_code = :plan_code and year = :year and basis = :basis and region_code = :region_code
group by status
