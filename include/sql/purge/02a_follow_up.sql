-- test warehouses only (planstats purge): reviewers' follow-up marks
drop table if exists follow_up
