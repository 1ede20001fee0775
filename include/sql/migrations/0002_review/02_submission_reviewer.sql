alter table submission add column reviewer text
