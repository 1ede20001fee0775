alter table review_event alter column at type timestamptz using at::timestamptz
