insert into region_closure (ancestor_code, descendant_code, depth)
values (:ancestor_code, :descendant_code, :depth)
on conflict (ancestor_code, descendant_code) do update set depth = excluded.depth
