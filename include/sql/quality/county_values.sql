-- current values of county-level units up to a year (or, when past = 1, those current at the
-- as_of time), with each county's city: the peers and the past of the data-quality analysis.
-- Driven from the counties' submissions, so the values of units below them (communities) are
-- never scanned: CROSS JOIN is SQLite's way to fix the join order (its planner, without
-- statistics, would guess it); to PostgreSQL it is an inner join like any other.
with county as (
    select region_code, parent_code as city_code
    from dim_region
    where level = :level
)

select f.region_code, c.city_code, f.indicator_code, f.year, f.value, f.note
from county as c
cross join submission as s
cross join fact_value as f
where s.region_code = c.region_code and s.year <= :year
    and (
        (:past = 0 and s.is_current = 1)
        or (
            :past = 1 and s.status <> 'rejected' and s.processed_at <= :as_of
            and (s.superseded_at is null or s.superseded_at > :as_of)
        )
    )
    and f.submission_id = s.submission_id and f.region_code = c.region_code
    and f.year <= :year and f.value is not null
