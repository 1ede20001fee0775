-- the values the statistics use now for one county (and its units below) and year
select f.region_code, f.indicator_code, f.value, f.numerator, f.denominator
from fact_value as f
inner join submission as s on f.submission_id = s.submission_id
where s.is_current = 1 and s.region_code = :region_code and s.year = :year
