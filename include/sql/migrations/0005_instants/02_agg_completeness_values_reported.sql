-- values of the plan the county's current file delivered: 0 means not reported (empty file)
alter table agg_completeness add column values_reported integer not null default 0
