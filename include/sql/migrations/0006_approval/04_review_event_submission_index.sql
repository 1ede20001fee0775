-- a submission's history is read on every page that shows it
create index if not exists ix_review_event_submission on review_event (submission_id, at)
