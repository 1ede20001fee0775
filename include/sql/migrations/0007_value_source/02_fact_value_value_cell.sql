alter table fact_value add column value_cell varchar(16)
