update submission
set review_status = :review_status, reviewer = :reviewer, reviewed_at = :reviewed_at,
    review_comment = :review_comment
where submission_id = :submission_id
