-- a value a reviewer marked 待核实 (DHIS2's follow-up): open until the county resubmits that
-- year (resolved) or a reviewer closes it
create table if not exists follow_up (
    follow_up_id varchar(32) primary key,
    submission_id varchar(32) not null,
    county_code varchar(12) not null,
    region_code varchar(12) not null,
    indicator_code varchar(16) not null,
    year integer not null,
    value double precision,
    comment text not null,
    state varchar(16) not null,
    flagged_by text not null,
    flagged_at varchar(32) not null,
    closed_by text,
    closed_at varchar(32),
    close_comment text,
    resolved_by varchar(32)
)
