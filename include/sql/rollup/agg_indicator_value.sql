-- The 规划指标年度统计 of one plan and year: every indicator at every region of the plan's tree.
-- A region's value is its own report where it reported, else the aggregation of the topmost
-- reporters below it (so a county that reported is never counted again through its communities).
-- Rates are Σ分子 / Σ分母 × scale, never a mean of the children's percentages.
-- Values are stored in the concept's unit and shown in the plan's: × factor (人 for 万人, % for
-- 每万人); a plan read through assess_* is compared in the concept's unit with that target.
-- Basis 'accepted': the current submission of each region (or, when past = 1, the one current
-- at the as_of time);
-- basis 'approved': the latest submission a reviewer approved; 'approved_city' /
-- 'approved_prov': of those, only where the figures of the county's city / province are approved.
with chosen_submission as (
    select s.submission_id
    from submission as s
    where s.year = :year
        and s.status <> 'rejected'
        and (
            (
                cast(:basis as varchar(16)) = 'accepted'
                and :past = 0
                and s.is_current = 1
            )
            or (
                cast(:basis as varchar(16)) = 'accepted'
                and :past = 1
                and s.processed_at <= :as_of
                and (s.superseded_at is null or s.superseded_at > :as_of)
            )
            or (
                cast(:basis as varchar(16)) in ('approved', 'approved_city', 'approved_prov')
                and s.review_status = 'approved'
                and not exists (
                    select 1
                    from submission as newer
                    where newer.region_code = s.region_code
                        and newer.year = s.year
                        and newer.review_status = 'approved'
                        and newer.processed_at > s.processed_at
                )
                and (
                    cast(:basis as varchar(16)) = 'approved'
                    or exists (
                        select 1
                        from region_closure as up
                        inner join region_approval as a
                            on up.ancestor_code = a.region_code and a.year = s.year
                        inner join dim_region as level_region
                            on a.region_code = level_region.region_code
                        where up.descendant_code = s.region_code
                            and a.state = 'approved'
                            and level_region.level = case cast(:basis as varchar(16))
                                when 'approved_city' then 'city' else 'province'
                            end
                    )
                )
            )
        )
),

plan_region as (
    select c.descendant_code as region_code
    from dim_plan as p
    inner join region_closure as c on p.region_code = c.ancestor_code
    where p.plan_code = :plan_code
),

indicator as (
    select
        pi.indicator_code,
        coalesce(pi.assess_comparator, pi.comparator) as comparator,
        coalesce(pi.assess_target, pi.target) as target,
        pi.factor, pi.target_year, pi.baseline, pi.baseline_year, i.aggregation, i.scale
    from plan_indicator as pi
    inner join dim_indicator as i on pi.indicator_code = i.indicator_code
    where pi.plan_code = :plan_code
),

-- a row left empty (缺报) is not a report: it counts neither as a value nor as reporting
reported as (
    select f.region_code, f.indicator_code, i.factor * f.value as value, f.numerator, f.denominator
    from fact_value as f
    inner join chosen_submission as s on f.submission_id = s.submission_id
    inner join indicator as i on f.indicator_code = i.indicator_code
    where f.year = :year
        and f.value is not null
        and f.region_code in (select region_code from plan_region)
),

-- per reporter and indicator: how far up its nearest reported ancestor is (none: null)
shadowed as (
    select r.region_code, r.indicator_code, min(b.depth) as depth
    from reported as r
    inner join region_closure as b on r.region_code = b.descendant_code and b.depth > 0
    inner join reported as above
        on b.ancestor_code = above.region_code and r.indicator_code = above.indicator_code
    group by r.region_code, r.indicator_code
),

-- a reporter counts at each ancestor up to, not including, its nearest reported ancestor
effective as (
    select
        c.ancestor_code as region_code, r.region_code as reporter_code, r.indicator_code,
        r.value, r.numerator, r.denominator
    from reported as r
    inner join region_closure as c on r.region_code = c.descendant_code
    left join shadowed as s
        on r.region_code = s.region_code and r.indicator_code = s.indicator_code
    where c.ancestor_code in (select region_code from plan_region)
        and (s.depth is null or c.depth < s.depth)
),

aggregated as (
    select
        e.region_code,
        e.indicator_code,
        max(case when e.reporter_code = e.region_code then 1 else 0 end) as direct,
        max(case when e.reporter_code = e.region_code then e.value end) as direct_value,
        sum(e.value) as sum_value,
        min(e.value) as min_value,
        max(e.value) as max_value,
        sum(e.numerator) as sum_numerator,
        sum(e.denominator) as sum_denominator,
        sum(e.value * e.denominator) as sum_weighted,
        sum(case when e.value is not null and e.denominator is not null then e.denominator end)
            as sum_weight,
        sum(
            case
                when i.comparator = '>=' and e.value >= i.target - 1e-9 then 1
                when i.comparator = '<=' and e.value <= i.target + 1e-9 then 1
                when i.comparator = '=' and abs(e.value - i.target) <= 1e-9 then 1
                else 0
            end
        ) as meeting
    from effective as e
    inner join indicator as i on e.indicator_code = i.indicator_code
    group by e.region_code, e.indicator_code
),

-- counties with a report of their own or from units below them, counted at every ancestor
reporting_county as (
    select distinct up.ancestor_code as county_code, r.indicator_code
    from reported as r
    inner join region_closure as up on r.region_code = up.descendant_code
    inner join dim_region as u on up.ancestor_code = u.region_code and u.level = 'county'
),

county_reporting as (
    select c.ancestor_code as region_code, rc.indicator_code, count(*) as n
    from reporting_county as rc
    inner join region_closure as c on rc.county_code = c.descendant_code
    group by c.ancestor_code, rc.indicator_code
),

-- counties of the plan's tree, counted at every ancestor (those above the owner are not read)
county_expected as (
    select c.ancestor_code as region_code, count(*) as n
    from dim_region as u
    inner join region_closure as c on u.region_code = c.descendant_code
    where u.level = 'county' and u.region_code in (select region_code from plan_region)
    group by c.ancestor_code
),

valued as (
    select
        pr.region_code,
        i.indicator_code,
        i.comparator,
        i.target,
        coalesce(a.direct, 0) as direct,
        coalesce(cr.n, 0) as reporting_regions,
        coalesce(ce.n, 0) as expected_regions,
        case
            when a.direct = 1 then a.direct_value
            when i.aggregation = 'sum' then a.sum_value
            when i.aggregation = 'ratio'
                then i.factor * i.scale * a.sum_numerator / nullif(a.sum_denominator, 0)
            when i.aggregation = 'weighted_mean' then a.sum_weighted / nullif(a.sum_weight, 0)
            when i.aggregation = 'min' then a.min_value
            when i.aggregation = 'max' then a.max_value
            when i.aggregation = 'count_meeting' then a.meeting
        end as value,
        case when i.aggregation = 'ratio' then a.sum_numerator end as numerator,
        case when i.aggregation in ('ratio', 'weighted_mean') then a.sum_denominator end
            as denominator,
        case
            when i.baseline is not null and i.baseline_year is not null
                and i.target_year > i.baseline_year
                then i.baseline + (i.target - i.baseline)
                * (:year - i.baseline_year) / (i.target_year - i.baseline_year)
        end as expected_value
    from plan_region as pr
    cross join indicator as i
    left join aggregated as a
        on pr.region_code = a.region_code and i.indicator_code = a.indicator_code
    left join county_reporting as cr
        on pr.region_code = cr.region_code and i.indicator_code = cr.indicator_code
    left join county_expected as ce on pr.region_code = ce.region_code
    where pr.region_code in (select region_code from dim_region where level <> 'community')
        or a.region_code is not null
)

insert into agg_indicator_value (
    plan_code, year, basis, computed_at, region_code, indicator_code, value, numerator, denominator, direct,
    reporting_regions, expected_regions, target, comparator, status, completion_rate,
    expected_value, on_track
)
select
    :plan_code,
    :year,
    :basis,
    :computed_at,
    v.region_code,
    v.indicator_code,
    v.value,
    v.numerator,
    v.denominator,
    v.direct,
    v.reporting_regions,
    v.expected_regions,
    v.target,
    v.comparator,
    case
        when v.value is null then '缺报'
        when v.comparator = '>=' and v.value >= v.target - 1e-9 then '达标'
        when v.comparator = '<=' and v.value <= v.target + 1e-9 then '达标'
        when v.comparator = '=' and abs(v.value - v.target) <= 1e-9 then '达标'
        else '未达标'
    end,
    case
        when v.value is null then null
        when v.comparator = '<=' and v.value <= 0 then 1.0
        when v.comparator = '<=' then v.target / v.value
        when v.target = 0 then null
        else v.value / v.target
    end,
    v.expected_value,
    case
        when v.value is null or v.expected_value is null then null
        when v.comparator = '<=' and v.value <= v.expected_value + 1e-9 then 1
        when v.comparator <> '<=' and v.value >= v.expected_value - 1e-9 then 1
        else 0
    end
from valued as v
