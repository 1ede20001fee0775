alter table submission add column reviewed_at varchar(32)
