-- Where one published figure came from: every value reported under a region for one indicator,
-- with its submission, file and cell, and whether the roll-up counts it at that region (a
-- reporter counts unless a region between it and the region reported too; the same choice of
-- submissions as rollup/agg_indicator_value at the current time; tests/web checks that the
-- counted values add up to the published figure).
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
        and (
            (cast(:basis as varchar(16)) = 'accepted' and s.is_current = 1)
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
