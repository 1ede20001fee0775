create table if not exists plan_indicator (
    plan_code varchar(64) not null,
    indicator_code varchar(16) not null,
    seq integer not null,
    category text not null,
    name text not null,
    target_text text not null,
    comparator varchar(2) not null,
    target double precision not null,
    attribute varchar(8) not null,
    target_year integer not null,
    baseline double precision,
    baseline_year integer,
    primary key (plan_code, indicator_code)
)
