create table if not exists dim_indicator (
    indicator_code varchar(16) primary key,
    name text not null,
    unit varchar(16) not null,
    aggregation varchar(16) not null,
    scale double precision,
    numerator_def text,
    denominator_def text,
    valid_min double precision,
    valid_max double precision
)
