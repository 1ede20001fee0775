-- Expected, received and on-time submissions of one plan and year, one row per county of the
-- plan's tree. On time: the first accepted file arrived before the plan's deadline.
with plan_county as (
    select c.descendant_code as region_code
    from dim_plan as p
    inner join region_closure as c on p.region_code = c.ancestor_code
    inner join dim_region as r on c.descendant_code = r.region_code
    where p.plan_code = :plan_code and r.level = 'county'
),

files as (
    select
        region_code,
        count(*) as files,
        sum(case when status = 'rejected' then 1 else 0 end) as rejected_files,
        min(case when status <> 'rejected' then received_at end) as first_received_at,
        max(case when is_current = 1 then submission_id end) as current_submission_id,
        max(case when is_current = 1 then review_status end) as review_status
    from submission
    where year = :year
    group by region_code
)

insert into agg_completeness (
    plan_code, year, region_code, received, on_time, first_received_at, deadline, files,
    rejected_files, current_submission_id, review_status, computed_at
)
select
    :plan_code,
    :year,
    pc.region_code,
    case when f.first_received_at is null then 0 else 1 end,
    case when f.first_received_at < :deadline then 1 else 0 end,
    f.first_received_at,
    :deadline,
    coalesce(f.files, 0),
    coalesce(f.rejected_files, 0),
    f.current_submission_id,
    f.review_status,
    :computed_at
from plan_county as pc
left join files as f on pc.region_code = f.region_code
