-- test warehouses only (planstats purge): derived and loaded data; county files stay on disk
drop table if exists agg_completeness
