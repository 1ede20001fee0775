-- the current submission of a region and year if a reviewer approved it (locks resubmission)
select submission_id, reviewer, reviewed_at
from submission
where region_code = :region_code and year = :year and is_current = 1
    and review_status = 'approved'
