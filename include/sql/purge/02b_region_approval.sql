-- test warehouses only (planstats purge): approvals of regions' figures
drop table if exists region_approval
