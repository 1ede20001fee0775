-- one plan's figures at a region and at its children, for the drill-down
select
    a.region_code, g.name as region_name, g.level, g.parent_code, a.indicator_code, a.value,
    a.numerator, a.denominator, a.direct, a.reporting_regions, a.expected_regions, a.target,
    a.comparator, a.status, a.completion_rate, a.expected_value, a.on_track, a.computed_at
from agg_indicator_value as a
inner join dim_region as g on a.region_code = g.region_code
where a.plan_code = :plan_code
    and a.year = :year
    and a.basis = :basis
    and (a.region_code = :region_code or g.parent_code = :region_code)
order by a.region_code, a.indicator_code
