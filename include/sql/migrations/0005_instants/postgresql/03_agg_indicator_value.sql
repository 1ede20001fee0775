alter table agg_indicator_value alter column computed_at type timestamptz using computed_at::timestamptz
