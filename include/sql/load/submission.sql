insert into submission (
    submission_id, region_code, year, file_name, file_hash, folder, received_at, processed_at,
    template_version, status, is_current, supersedes, stored_path, report_path,
    values_new, values_updated, values_unchanged, values_rejected, errors, warnings
)
values (
    :submission_id, :region_code, :year, :file_name, :file_hash, :folder, :received_at,
    :processed_at, :template_version, :status, :is_current, :supersedes, :stored_path,
    :report_path, :values_new, :values_updated, :values_unchanged, :values_rejected, :errors,
    :warnings
)
on conflict (submission_id) do update set
    status = excluded.status, is_current = excluded.is_current,
    stored_path = excluded.stored_path, report_path = excluded.report_path
