-- statistics value = factor × stored (concept-unit) value; 1 for a plan read through assess_*
alter table plan_indicator add column factor double precision not null default 1
