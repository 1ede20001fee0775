select
    submission_id, region_code, year, file_name, status, is_current, review_status, reviewer,
    reviewed_at, review_comment, processed_at, report_path
from submission
where submission_id = :submission_id
