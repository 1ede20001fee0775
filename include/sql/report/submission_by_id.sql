select
    submission_id, region_code, year, file_name, status, is_current, review_status, reviewer,
    reviewed_at, review_comment, received_at, processed_at, superseded_at, report_path,
    stored_path, errors, warnings
from submission
where submission_id = :submission_id
