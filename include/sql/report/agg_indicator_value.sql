-- a plan's statistics of a year, as rollup.TABLE_FIELDS reads them (plan, year and basis are
-- the parameters: not read on each of a community-scale plan's ≈ 220,000 rows)
select
    region_code, indicator_code, value, numerator, denominator, direct, reporting_regions,
    expected_regions, target, comparator, status, completion_rate, expected_value, on_track
from agg_indicator_value
where plan_code = :plan_code and year = :year and basis = :basis
