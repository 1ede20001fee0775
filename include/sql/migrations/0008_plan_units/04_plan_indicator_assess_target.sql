alter table plan_indicator add column assess_target double precision
