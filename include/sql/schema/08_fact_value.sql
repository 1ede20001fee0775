-- every value ever accepted, kept per submission so superseded versions stay queryable
create table if not exists fact_value (
    submission_id varchar(32) not null,
    region_code varchar(12) not null,
    indicator_code varchar(16) not null,
    year integer not null,
    value double precision,
    numerator double precision,
    denominator double precision,
    note text,
    flag varchar(16),
    primary key (submission_id, region_code, indicator_code)
)
