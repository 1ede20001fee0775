-- The roll-up and the sources of a figure read a year's values per chosen file through the
-- primary key (submission_id, region_code, indicator_code); the index by year cost a third of
-- every insert into fact_value (bench: 6.2 → 4.2 s for community-8266's 1.29 M values).
drop index if exists ix_fact_value_year
