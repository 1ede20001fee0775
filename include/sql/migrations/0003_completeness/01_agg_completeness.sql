-- completeness and timeliness of one plan and year, per county expected to report
create table if not exists agg_completeness (
    plan_code varchar(64) not null,
    year integer not null,
    region_code varchar(12) not null,
    received integer not null,
    on_time integer not null,
    first_received_at varchar(32),
    deadline varchar(32) not null,
    files integer not null,
    rejected_files integer not null,
    current_submission_id varchar(32),
    review_status varchar(16),
    computed_at varchar(32) not null,
    primary key (plan_code, year, region_code)
)
