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
-- Written for plans of thousands of communities (sichuan-14th on 8,266: ≈ 215,000 reported values
-- and 220,000 rows a year): each reported value is read once; a region's own report is shown
-- as it is, and the values that count above their region are summed by parent before they are
-- joined to the ancestors (≈ 5,000 sums, not 215,000 values, each joined to three or four);
-- rows are made for what was reported or aggregated, and for every indicator above community
-- level, not for every region × indicator of the tree. AS MATERIALIZED computes a CTE once
-- (SQLite ≥ 3.35 and PostgreSQL ≥ 12 accept it); CROSS JOIN keeps SQLite's join order, which
-- it would otherwise guess without statistics (PostgreSQL plans freely).
-- Only the files whose rows can fall in the plan's tree are chosen: those of its regions and of
-- the regions above it (a file's rows are of its region or of units below it).
with chosen_submission as materialized (
    select s.submission_id, s.region_code
    from submission as s
    where s.year = :year
        and s.status <> 'rejected'
        and (
            exists (
                select 1
                from dim_plan as p
                inner join region_closure as below
                    on p.region_code = below.ancestor_code
                where p.plan_code = :plan_code and below.descendant_code = s.region_code
            )
            or exists (
                select 1
                from dim_plan as p
                inner join region_closure as above
                    on p.region_code = above.descendant_code
                where p.plan_code = :plan_code and above.ancestor_code = s.region_code
            )
        )
        #include rollup/counted_submission
),

-- the plan's regions, each with its parent (none for the plan's own region: nothing is
-- summed above it)
plan_region as materialized (
    select c.descendant_code as region_code, r.level, up.ancestor_code as parent_code
    from dim_plan as p
    inner join region_closure as c on p.region_code = c.ancestor_code
    inner join dim_region as r on c.descendant_code = r.region_code
    left join region_closure as up
        on c.descendant_code = up.descendant_code and up.depth = 1 and c.depth > 0
    where p.plan_code = :plan_code
),

indicator as materialized (
    select
        pi.indicator_code,
        coalesce(pi.assess_comparator, pi.comparator) as comparator,
        coalesce(pi.assess_target, pi.target) as target,
        pi.factor, pi.target_year, pi.baseline, pi.baseline_year, i.aggregation, i.scale
    from plan_indicator as pi
    inner join dim_indicator as i on pi.indicator_code = i.indicator_code
    where pi.plan_code = :plan_code
),

-- a row left empty (缺报) is not a report: it counts neither as a value nor as reporting.
-- Read per chosen file through the primary key, where a file's values lie together: a plan of
-- one city or county reads its own files only, not every value of the year. Materialized
-- before the regions are joined: PostgreSQL, which cannot know how many regions a plan has
-- (it guessed 4 of 8,471), would look the values up per region and file instead (1.55 million
-- probes, 3.5 s for sichuan-14th on 8,266 communities).
chosen_fact as materialized (
    select f.region_code, f.indicator_code, f.value, f.numerator, f.denominator
    from chosen_submission as s
    cross join fact_value as f
    where f.submission_id = s.submission_id and f.value is not null
),

-- addend: what the indicator's aggregation adds up above the reporter (the value for sum,
-- 分子 for ratio, value × 分母 for weighted_mean, 1 when it meets the target for count_meeting),
-- divisor: 分母 (ratio's and weighted_mean's); so each value joined to its ancestors feeds
-- four aggregates, not eight (a weighted mean's weight is Σ分母: its values are never null).
reported as materialized (
    select
        f.region_code, pr.level, pr.parent_code, f.indicator_code, i.factor * f.value as value,
        f.numerator, f.denominator,
        case i.aggregation
            when 'sum' then i.factor * f.value
            when 'ratio' then f.numerator
            when 'weighted_mean' then i.factor * f.value * f.denominator
            when 'count_meeting' then
                case
                    when i.comparator = '>=' and i.factor * f.value >= i.target - 1e-9 then 1
                    when i.comparator = '<=' and i.factor * f.value <= i.target + 1e-9 then 1
                    when i.comparator = '=' and abs(i.factor * f.value - i.target) <= 1e-9
                        then 1
                    else 0
                end
        end as addend,
        f.denominator as divisor
    from chosen_fact as f
    cross join plan_region as pr
    cross join indicator as i
    where f.region_code = pr.region_code
        and f.indicator_code = i.indicator_code
),

-- Two chosen files can carry the same unit's row only when one's region code begins with the
-- other's (intake accepts a row only for the file's region or a unit whose code begins with
-- it): a town's file next to its county's. Rarely; then direct groups the rows.
overlap as (
    select 1 as found
    from chosen_submission as s
    inner join chosen_submission as t
        on s.submission_id <> t.submission_id
        and substr(t.region_code, 1, length(s.region_code)) = s.region_code
),

-- A region that reported shows its own report (values × factor; of two files' rows the larger
-- value and the summed 分子 / 分母). No reporter below it counts there: the region is their
-- nearest reported ancestor.
direct as (
    select region_code, indicator_code, value, numerator, denominator
    from reported
    where not exists (select 1 from overlap)
    union all
    select region_code, indicator_code, max(value), sum(numerator), sum(denominator)
    from reported
    where exists (select 1 from overlap)
    group by region_code, indicator_code
),

-- the few reports above community level (the only regions that can report and have regions
-- below them)
direct_above as materialized (
    select distinct region_code, indicator_code, level from reported where level <> 'community'
),

-- A region above reporters that did not report itself: a reporter counts at each ancestor up
-- to, not including, its nearest reported ancestor. The reporters are first summed by parent
-- (a county's communities into one sum per indicator); a sum then counts where
-- each of its reporters would: at its parent and up, below the nearest region at or above
-- the parent that reported the indicator. (Sums, minima and maxima of these sums are those of
-- the values; a float sum may differ in its last bit from adding the values one by one.)
below as materialized (
    select
        parent_code as region_code, indicator_code, sum(addend) as total,
        sum(divisor) as divisor, min(value) as lowest, max(value) as highest
    from reported
    where parent_code is not null
    group by parent_code, indicator_code
),

-- per sum: how far up from its region the nearest region that reported the indicator is
shadowed as materialized (
    select b.region_code, b.indicator_code, min(c.depth) as depth
    from below as b
    cross join region_closure as c
    cross join direct_above as d
    where c.descendant_code = b.region_code
        and d.region_code = c.ancestor_code
        and d.indicator_code = b.indicator_code
    group by b.region_code, b.indicator_code
),

aggregated as materialized (
    select
        c.ancestor_code as region_code,
        a.level,
        b.indicator_code,
        sum(b.total) as total,
        sum(b.divisor) as divisor,
        min(b.lowest) as lowest,
        max(b.highest) as highest
    from below as b
    cross join region_closure as c
    cross join plan_region as a
    left join shadowed as s
        on b.region_code = s.region_code and b.indicator_code = s.indicator_code
    where c.descendant_code = b.region_code
        and a.region_code = c.ancestor_code
        and (s.depth is null or c.depth < s.depth)
    group by c.ancestor_code, a.level, b.indicator_code
),

-- counties with a report of their own or from units below them, counted at every ancestor
-- (aggregated carries each region's level: joined to plan_region again, PostgreSQL scanned it
-- once for each of aggregated's rows, misjudged as one)
reporting_county as (
    select region_code as county_code, indicator_code from direct_above where level = 'county'
    union all
    select region_code, indicator_code from aggregated where level = 'county'
),

county_reporting as materialized (
    select c.ancestor_code as region_code, rc.indicator_code, count(*) as n
    from reporting_county as rc
    inner join region_closure as c on rc.county_code = c.descendant_code
    group by c.ancestor_code, rc.indicator_code
),

-- counties of the plan's tree, counted at every ancestor (those above the owner are not read)
county_expected as materialized (
    select c.ancestor_code as region_code, count(*) as n
    from plan_region as u
    inner join region_closure as c on u.region_code = c.descendant_code
    where u.level = 'county'
    group by c.ancestor_code
),

-- every indicator at every region above community level (缺报 where nothing was reported at
-- or below it), at a community only where something was; the silent ones found by set
-- difference, not by anti-joins (PostgreSQL scanned aggregated once for each region and
-- indicator: 1.5 s)
cell as (
    select
        d.region_code, d.indicator_code, 1 as direct, d.value as direct_value,
        null as total, null as divisor, null as lowest, null as highest,
        d.numerator, d.denominator
    from direct as d
    union all
    -- a ratio's 分子 / 分母 and a weighted mean's 分母 are shown as summed
    select
        a.region_code, a.indicator_code, 0, null, a.total, a.divisor, a.lowest, a.highest,
        a.total, a.divisor
    from aggregated as a
    union all
    select region_code, indicator_code, 0, null, null, null, null, null, null, null
    from (
        select pr.region_code, i.indicator_code
        from plan_region as pr
        cross join indicator as i
        where pr.level <> 'community'
        except
        select region_code, indicator_code from direct_above
        except
        select region_code, indicator_code from aggregated
    ) as silent
),

valued as (
    select
        a.region_code,
        i.indicator_code,
        i.comparator,
        i.target,
        a.direct,
        coalesce(cr.n, 0) as reporting_regions,
        coalesce(ce.n, 0) as expected_regions,
        case
            when a.direct = 1 then a.direct_value
            when i.aggregation = 'sum' then a.total
            when i.aggregation = 'ratio'
                then i.factor * i.scale * a.total / nullif(a.divisor, 0)
            when i.aggregation = 'weighted_mean' then a.total / nullif(a.divisor, 0)
            when i.aggregation = 'min' then a.lowest
            when i.aggregation = 'max' then a.highest
            when i.aggregation = 'count_meeting' then a.total
        end as value,
        case when i.aggregation = 'ratio' then a.numerator end as numerator,
        case when i.aggregation in ('ratio', 'weighted_mean') then a.denominator end
            as denominator,
        case
            when i.baseline is not null and i.baseline_year is not null
                and i.target_year > i.baseline_year
                then i.baseline + (i.target - i.baseline)
                * (:year - i.baseline_year) / (i.target_year - i.baseline_year)
        end as expected_value
    from cell as a
    cross join indicator as i
    left join county_reporting as cr
        on a.region_code = cr.region_code and a.indicator_code = cr.indicator_code
    left join county_expected as ce on a.region_code = ce.region_code
    where a.indicator_code = i.indicator_code
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
