-- values of the plan asked of the county: fewer reported than asked is a partial report
alter table agg_completeness add column values_asked integer not null default 0
