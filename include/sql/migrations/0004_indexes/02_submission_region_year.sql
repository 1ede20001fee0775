-- current values and history of one county are read per file at ingest
create index if not exists ix_submission_region_year on submission (region_code, year, is_current)
