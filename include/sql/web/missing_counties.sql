-- the counties under a region with no value for one indicator in a plan's statistics
select a.region_code, g.name as region_name
from agg_indicator_value as a
inner join dim_region as g on a.region_code = g.region_code
inner join region_closure as c on a.region_code = c.descendant_code
where a.plan_code = :plan_code
    and a.year = :year
    and a.basis = :basis
    and a.indicator_code = :indicator_code
    and c.ancestor_code = :region_code
    and g.level = 'county'
    and a.value is null
order by a.region_code
