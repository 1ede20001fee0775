-- every file a region sent for a year, accepted, rejected or superseded, oldest first
select
    submission_id, file_name, status, is_current, review_status, reviewer, reviewed_at,
    received_at, processed_at, superseded_at, errors, warnings, report_path
from submission
where region_code = :region_code and year = :year
order by processed_at
