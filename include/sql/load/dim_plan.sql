insert into dim_plan (plan_code, name, region_code, period_start, period_end, baseline_year, deadline)
values (:plan_code, :name, :region_code, :period_start, :period_end, :baseline_year, :deadline)
on conflict (plan_code) do update set
    name = excluded.name, region_code = excluded.region_code,
    period_start = excluded.period_start, period_end = excluded.period_end,
    baseline_year = excluded.baseline_year, deadline = excluded.deadline
