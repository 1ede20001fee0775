alter table submission add column review_comment text
