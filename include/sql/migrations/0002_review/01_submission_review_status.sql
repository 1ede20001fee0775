alter table submission add column review_status varchar(16) not null default 'pending'
