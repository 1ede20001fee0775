create index if not exists ix_fact_value_year on fact_value (year, indicator_code, region_code)
