-- the marks of a year, of one county across years, or one mark (each filter null: all), newest first
select
    f.follow_up_id, f.submission_id, f.county_code, c.name as county_name, f.region_code,
    r.name as region_name, f.indicator_code, i.name as indicator_name, i.unit, f.year, f.value,
    f.comment, f.state, f.flagged_by, f.flagged_at, f.closed_by, f.closed_at, f.close_comment,
    f.resolved_by, s.file_name
from follow_up as f
left join dim_region as c on f.county_code = c.region_code
left join dim_region as r on f.region_code = r.region_code
left join dim_indicator as i on f.indicator_code = i.indicator_code
left join submission as s on f.submission_id = s.submission_id
where (cast(:year as integer) is null or f.year = cast(:year as integer))
    and (cast(:county_code as varchar(12)) is null or f.county_code = cast(:county_code as varchar(12)))
    and (cast(:follow_up_id as varchar(32)) is null or f.follow_up_id = cast(:follow_up_id as varchar(32)))
order by f.flagged_at desc
