alter table fact_value add column numerator_cell varchar(16)
