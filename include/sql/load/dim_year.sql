insert into dim_year (year, label)
values (:year, :label)
on conflict (year) do update set label = excluded.label
