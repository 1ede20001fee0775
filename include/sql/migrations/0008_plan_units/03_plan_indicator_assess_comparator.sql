-- a plan target read in the concept's unit (wording that no factor converts, see the note)
alter table plan_indicator add column assess_comparator varchar(2)
