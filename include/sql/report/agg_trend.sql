-- every computed year of a plan at one region: the trend across the period. Read per year
-- (dim_year: every plan's years, from its baseline) through the primary key (plan, year,
-- basis, region …): a community-scale plan holds ≈ 220,000 rows a year, a region a few dozen.
select year, indicator_code, value, status, completion_rate, expected_value, on_track
from agg_indicator_value
where plan_code = :plan_code
    and year in (select year from dim_year)
    and basis = :basis and region_code = :region_code
order by indicator_code, year
