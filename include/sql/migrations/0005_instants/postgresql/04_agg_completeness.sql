alter table agg_completeness
    alter column first_received_at type timestamptz using first_received_at::timestamptz,
    alter column due_at type timestamptz using due_at::timestamptz,
    alter column computed_at type timestamptz using computed_at::timestamptz
