-- current values of county-level units up to a year, with each county's city: the peers and
-- the past of the data-quality analysis
with county as (
    select region_code, parent_code as city_code
    from dim_region
    where level = :level
)

select f.region_code, c.city_code, f.indicator_code, f.year, f.value, f.note
from fact_value as f
inner join submission as s on f.submission_id = s.submission_id
inner join county as c on f.region_code = c.region_code
where s.is_current = 1 and f.year <= :year and f.value is not null
