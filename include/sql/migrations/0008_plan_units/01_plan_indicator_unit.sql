-- the plan's own unit, as printed (the concept's when the plan states none)
alter table plan_indicator add column unit varchar(16)
