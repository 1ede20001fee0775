create table if not exists dim_plan (
    plan_code varchar(64) primary key,
    name text not null,
    region_code varchar(12) not null,
    period_start integer not null,
    period_end integer not null,
    baseline_year integer,
    deadline varchar(5) not null
)
