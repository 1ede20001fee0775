alter table follow_up
    alter column flagged_at type timestamptz using flagged_at::timestamptz,
    alter column closed_at type timestamptz using closed_at::timestamptz
