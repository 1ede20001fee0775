select event_id, submission_id, region_code, year, action, reviewer, comment, at
from review_event
where submission_id = :submission_id
order by at
