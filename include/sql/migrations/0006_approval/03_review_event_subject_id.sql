-- the region (subject 'region') or follow-up (subject 'follow_up') a decision was about
alter table review_event add column subject_id varchar(32)
