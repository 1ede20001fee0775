-- a newer accepted submission for the same region and year supersedes the current one
update submission
set is_current = 0, superseded_at = :superseded_at
where region_code = :region_code
    and year = :year
    and is_current = 1
    and submission_id <> :submission_id
