insert into region_approval (region_code, year, state, reviewer, decided_at, comment)
values (:region_code, :year, :state, :reviewer, :decided_at, :comment)
on conflict (region_code, year) do update set
    state = excluded.state, reviewer = excluded.reviewer, decided_at = excluded.decided_at,
    comment = excluded.comment
