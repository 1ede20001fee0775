-- the decisions on one region's figures for a year, in order
select event_id, region_code, year, action, reviewer, comment, at
from review_event
where subject = :subject and subject_id = :region_code and year = :year
order by at
