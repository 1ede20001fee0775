-- Expected, received and on-time submissions of one plan and year, one row per county of the
-- plan's tree (now, or when past = 1 as things stood at the as_of time). A county has reported only
-- when its current file delivered at least one value this plan asks for (an empty template is
-- not a report); fewer values than asked is a partial report. On time: the first accepted file
-- that delivered values arrived before the plan's deadline.
with plan_county as materialized (
    select c.descendant_code as region_code
    from dim_plan as p
    inner join region_closure as c on p.region_code = c.ancestor_code
    inner join dim_region as r on c.descendant_code = r.region_code
    where p.plan_code = :plan_code and r.level = 'county'
),

asked as (
    select pc.region_code, count(*) as n
    from plan_county as pc
    cross join plan_indicator as pi
    inner join dim_indicator as i on pi.indicator_code = i.indicator_code
    inner join dim_plan as p on pi.plan_code = p.plan_code
    where pi.plan_code = :plan_code
        and (i.aggregation <> 'owner_only' or p.region_code = pc.region_code)
    group by pc.region_code
),

-- only the plan's counties' files are read: the values each delivered are counted per file,
-- and a plan of one county need not count those of the other 182
known as materialized (
    select *
    from submission
    where year = :year and (:past = 0 or processed_at <= :as_of)
        and region_code in (select region_code from plan_county)
),

current_known as (
    select submission_id, region_code, review_status, received_at
    from known
    where status <> 'rejected'
        and (
            (:past = 0 and is_current = 1)
            or (:past = 1 and (superseded_at is null or superseded_at > :as_of))
        )
),

-- values of this plan each accepted file delivered, for the county and units below it (0: none);
-- counted per file, whose values the primary key holds together (no sort of all of them)
delivered as (
    select
        s.submission_id,
        (
            select count(distinct f.indicator_code)
            from fact_value as f
            inner join plan_indicator as pi
                on f.indicator_code = pi.indicator_code and pi.plan_code = :plan_code
            where f.submission_id = s.submission_id and f.value is not null
        ) as n
    from known as s
    where s.status <> 'rejected'
),

files as (
    select
        s.region_code,
        count(*) as files,
        sum(case when s.status = 'rejected' then 1 else 0 end) as rejected_files,
        min(case when d.n > 0 then s.received_at end) as first_received_at
    from known as s
    left join delivered as d on s.submission_id = d.submission_id
    group by s.region_code
)

insert into agg_completeness (
    plan_code, year, region_code, received, on_time, first_received_at, due_at, files,
    rejected_files, current_submission_id, review_status, values_reported, values_asked,
    computed_at
)
select
    :plan_code,
    :year,
    pc.region_code,
    case when coalesce(d.n, 0) > 0 then 1 else 0 end,
    case when coalesce(d.n, 0) > 0 and f.first_received_at < :due_at then 1 else 0 end,
    case when coalesce(d.n, 0) > 0 then f.first_received_at end,
    :due_at,
    coalesce(f.files, 0),
    coalesce(f.rejected_files, 0),
    cur.submission_id,
    cur.review_status,
    coalesce(d.n, 0),
    coalesce(a.n, 0),
    :computed_at
from plan_county as pc
left join files as f on pc.region_code = f.region_code
left join current_known as cur on pc.region_code = cur.region_code
left join delivered as d on cur.submission_id = d.submission_id
left join asked as a on pc.region_code = a.region_code
