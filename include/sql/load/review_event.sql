insert into review_event (
    event_id, submission_id, region_code, year, action, reviewer, comment, at, subject, subject_id
)
values (
    :event_id, :submission_id, :region_code, :year, :action, :reviewer, :comment, :at, :subject,
    :subject_id
)
