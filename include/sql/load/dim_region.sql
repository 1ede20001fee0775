insert into dim_region (region_code, name, level, parent_code)
values (:region_code, :name, :level, :parent_code)
on conflict (region_code) do update set
    name = excluded.name, level = excluded.level, parent_code = excluded.parent_code
