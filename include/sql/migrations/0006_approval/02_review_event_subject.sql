-- what a decision was about: a submission, a region's figures (submission_id ''), a follow-up
alter table review_event add column subject varchar(16) not null default 'submission'
