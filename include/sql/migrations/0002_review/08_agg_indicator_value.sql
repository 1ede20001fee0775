-- the 规划指标年度统计: every indicator of a plan, per year and region, against its target,
-- computed from all accepted data or from approved data only (basis)
create table if not exists agg_indicator_value (
    plan_code varchar(64) not null,
    year integer not null,
    basis varchar(16) not null,
    region_code varchar(12) not null,
    indicator_code varchar(16) not null,
    value double precision,
    numerator double precision,
    denominator double precision,
    direct integer not null,
    reporting_regions integer not null,
    expected_regions integer not null,
    target double precision not null,
    comparator varchar(2) not null,
    status varchar(8) not null,
    completion_rate double precision,
    expected_value double precision,
    on_track integer,
    computed_at varchar(32) not null,
    primary key (plan_code, year, basis, region_code, indicator_code)
)
