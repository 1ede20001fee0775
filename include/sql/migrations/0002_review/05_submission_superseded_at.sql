-- when a newer submission for the same region and year took over: as-of queries need it
alter table submission add column superseded_at varchar(32)
