-- Where one published figure came from: every value reported under a region for one indicator,
-- with its submission, file and cell, and whether the roll-up counts it at that region (a
-- reporter counts unless a region between it and the region reported too; submissions chosen
-- as rollup/agg_indicator_value chooses them, by rollup/counted_submission at the current time;
-- tests/web checks that the counted values add up to the published figure).
-- Files of the region, of regions below it and above it only: a file's rows are of its region
-- or of units below it; their values are read per file and unit through the primary keys.
with chosen_submission as materialized (
    select s.submission_id, s.region_code
    from submission as s
    where s.year = :year
        and s.status <> 'rejected'
        and (
            exists (
                select 1 from region_closure as below
                where below.ancestor_code = :region_code
                    and below.descendant_code = s.region_code
            )
            or exists (
                select 1 from region_closure as above
                where above.ancestor_code = s.region_code
                    and above.descendant_code = :region_code
            )
        )
        #include rollup/counted_submission
),

reported as (
    select
        f.submission_id, f.region_code, f.value, f.numerator, f.denominator, f.note, f.flag,
        f.source_sheet, f.value_cell, f.numerator_cell, f.denominator_cell
    from chosen_submission as s
    cross join region_closure as unit
    cross join region_closure as c
    cross join fact_value as f
    where unit.ancestor_code = s.region_code
        and c.ancestor_code = :region_code
        and c.descendant_code = unit.descendant_code
        and f.submission_id = s.submission_id
        and f.region_code = unit.descendant_code
        and f.indicator_code = :indicator_code
),

shadowed as (
    select r.region_code
    from reported as r
    inner join region_closure as b on r.region_code = b.descendant_code and b.depth > 0
    inner join reported as above on b.ancestor_code = above.region_code
    group by r.region_code
)

select
    r.submission_id, r.region_code, g.name as region_name, g.level, r.value, r.numerator,
    r.denominator, r.note, r.flag, r.source_sheet, r.value_cell, r.numerator_cell,
    r.denominator_cell, s.file_name, s.received_at, s.review_status,
    case when sh.region_code is null then 1 else 0 end as counted
from reported as r
inner join submission as s on r.submission_id = s.submission_id
left join shadowed as sh on r.region_code = sh.region_code
left join dim_region as g on r.region_code = g.region_code
order by r.region_code
