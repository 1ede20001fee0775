alter table submission
    alter column received_at type timestamptz using received_at::timestamptz,
    alter column processed_at type timestamptz using processed_at::timestamptz,
    alter column reviewed_at type timestamptz using reviewed_at::timestamptz,
    alter column superseded_at type timestamptz using superseded_at::timestamptz
