-- a county's open marks are read for every receipt
create index if not exists ix_follow_up_county on follow_up (county_code, state, year)
