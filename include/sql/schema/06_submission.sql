-- one row per file received, accepted or not; is_current marks the version the statistics use
create table if not exists submission (
    submission_id varchar(32) primary key,
    region_code varchar(12) not null,
    year integer,
    file_name text not null,
    file_hash varchar(64) not null,
    folder text not null,
    received_at varchar(32) not null,
    processed_at varchar(32) not null,
    template_version varchar(16),
    status varchar(32) not null,
    is_current integer not null default 0,
    supersedes varchar(32),
    stored_path text,
    report_path text,
    values_new integer not null default 0,
    values_updated integer not null default 0,
    values_unchanged integer not null default 0,
    values_rejected integer not null default 0,
    errors integer not null default 0,
    warnings integer not null default 0
)
