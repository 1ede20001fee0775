-- every file the warehouse has recorded, by the folder it came from and its hash
select folder, file_hash, submission_id, stored_path
from submission
