select submission_id, status, region_code, year, received_at, stored_path
from submission
where folder = :folder and file_hash = :file_hash
