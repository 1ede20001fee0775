insert into review_event (event_id, submission_id, region_code, year, action, reviewer, comment, at)
values (:event_id, :submission_id, :region_code, :year, :action, :reviewer, :comment, :at)
