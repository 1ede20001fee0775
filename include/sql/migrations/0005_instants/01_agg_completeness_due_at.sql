-- the deadline of the year, an instant like every other *_at column
alter table agg_completeness rename column deadline to due_at
