-- indicators by status at each plan's own region, for the year overview
select a.plan_code, a.status, count(*) as indicators
from agg_indicator_value as a
inner join dim_plan as p on a.plan_code = p.plan_code and a.region_code = p.region_code
where a.year = :year and a.basis = :basis
group by a.plan_code, a.status
