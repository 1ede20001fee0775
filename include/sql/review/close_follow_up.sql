update follow_up
set state = :state, closed_by = :closed_by, closed_at = :closed_at, close_comment = :close_comment
where follow_up_id = :follow_up_id
