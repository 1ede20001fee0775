select
    plan_code, year, basis, region_code, indicator_code, value, numerator,
    denominator, direct, reporting_regions, expected_regions, target, comparator, status,
    completion_rate, expected_value, on_track
from agg_indicator_value
where plan_code = :plan_code and year = :year and basis = :basis
