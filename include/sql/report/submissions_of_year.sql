select
    s.submission_id, s.region_code, r.name as region_name, s.year, s.file_name, s.received_at,
    s.processed_at, s.status, s.is_current, s.report_path, s.values_new, s.values_updated,
    s.values_unchanged, s.values_rejected, s.errors, s.warnings, s.review_status, s.reviewer,
    s.reviewed_at, s.review_comment
from submission as s
left join dim_region as r on s.region_code = r.region_code
where s.year = :year
order by s.region_code, s.processed_at
