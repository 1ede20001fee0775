create index if not exists ix_submission_folder_hash on submission (folder, file_hash)
