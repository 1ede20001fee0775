-- every province, city and county some plan in period expects to report in the year (itself or
-- through counties below it), with its current submission and the approval of its figures
with plan_of_year as (
    select region_code
    from dim_plan
    where :year between period_start and period_end
),

expected_county as (
    select distinct c.descendant_code as region_code
    from plan_of_year as p
    inner join region_closure as c on p.region_code = c.ancestor_code
    inner join dim_region as r on c.descendant_code = r.region_code
    where r.level = 'county'
),

unit as (
    select distinct r.region_code, r.name, r.level, r.parent_code
    from expected_county as e
    inner join region_closure as c on e.region_code = c.descendant_code
    inner join dim_region as r on c.ancestor_code = r.region_code
)

select
    u.region_code, u.name, u.level, u.parent_code, s.submission_id, s.review_status,
    a.state as approval_state, a.reviewer as approval_reviewer,
    a.decided_at as approval_decided_at, a.comment as approval_comment
from unit as u
left join submission as s
    on u.region_code = s.region_code and s.year = :year and s.is_current = 1
left join region_approval as a on u.region_code = a.region_code and a.year = :year
order by u.region_code
