insert into follow_up (
    follow_up_id, submission_id, county_code, region_code, indicator_code, year, value, comment,
    state, flagged_by, flagged_at
)
values (
    :follow_up_id, :submission_id, :county_code, :region_code, :indicator_code, :year, :value,
    :comment, :state, :flagged_by, :flagged_at
)
