alter table fact_value add column denominator_cell varchar(16)
