-- what locks a region and year against resubmission: its current submission approved, or the
-- figures of a region above it approved (a higher approval locks the levels below)
select submission_id, reviewer, reviewed_at, region_code
from submission
where region_code = :region_code and year = :year and is_current = 1
    and review_status = 'approved'
union all
select '' as submission_id, a.reviewer, a.decided_at as reviewed_at, a.region_code
from region_approval as a
inner join region_closure as c on a.region_code = c.ancestor_code
where c.descendant_code = :region_code and c.depth > 0 and a.year = :year
    and a.state = 'approved'
