alter table region_approval alter column decided_at type timestamptz using decided_at::timestamptz
