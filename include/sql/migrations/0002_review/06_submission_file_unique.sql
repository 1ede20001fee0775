-- the same bytes in the same folder are one submission, even when two ingests race
create unique index if not exists ux_submission_folder_hash on submission (folder, file_hash)
