-- an accepted resubmission of the year answers the county's open marks of that year
-- (states as in planstats/review/states.py: OPEN → RESOLVED)
update follow_up
set state = 'resolved', closed_by = :closed_by, closed_at = :closed_at, resolved_by = :submission_id
where county_code = :county_code and year = :year and state = 'open'
