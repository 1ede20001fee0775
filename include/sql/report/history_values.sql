-- the current values of one county (and its units below) in the years before the given one
select f.region_code, f.indicator_code, f.year, f.value
from fact_value as f
inner join submission as s on f.submission_id = s.submission_id
where s.is_current = 1 and s.region_code = :region_code and s.year < :year
    and f.value is not null
