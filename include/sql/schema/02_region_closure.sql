-- every (ancestor, descendant) pair of the region tree, a region being its own ancestor at depth 0
create table if not exists region_closure (
    ancestor_code varchar(12) not null,
    descendant_code varchar(12) not null,
    depth integer not null,
    primary key (ancestor_code, descendant_code)
)
