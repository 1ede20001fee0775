-- the roll-up walks the tree upwards from each reporter (bench: community-8266 roll-up)
create index if not exists ix_region_closure_descendant
on region_closure (descendant_code, depth, ancestor_code)
