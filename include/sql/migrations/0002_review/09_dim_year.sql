create table if not exists dim_year (
    year integer primary key,
    label varchar(16) not null
)
