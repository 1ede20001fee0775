create table if not exists dim_region (
    region_code varchar(12) primary key,
    name text not null,
    level varchar(16) not null,
    parent_code varchar(12)
)
