-- a region's figures for a year as decided by the level above it: approved (locks every level
-- below), not reporting (explicitly excused), or reopened; one row, its history in review_event
create table if not exists region_approval (
    region_code varchar(12) not null,
    year integer not null,
    state varchar(16) not null,
    reviewer text not null,
    decided_at varchar(32) not null,
    comment text,
    primary key (region_code, year)
)
