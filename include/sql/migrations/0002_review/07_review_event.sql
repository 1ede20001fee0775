-- every reviewer decision, in order: approve, return (send back), reopen
create table if not exists review_event (
    event_id varchar(32) primary key,
    submission_id varchar(32) not null,
    region_code varchar(12) not null,
    year integer,
    action varchar(16) not null,
    reviewer text not null,
    comment text,
    at varchar(32) not null
)
