select submission_id, file_name, received_at
from submission
where region_code = :region_code and year = :year and is_current = 1
