insert into plan_indicator (
    plan_code, indicator_code, seq, category, name, target_text, comparator, target,
    attribute, target_year, baseline, baseline_year
)
values (
    :plan_code, :indicator_code, :seq, :category, :name, :target_text, :comparator, :target,
    :attribute, :target_year, :baseline, :baseline_year
)
on conflict (plan_code, indicator_code) do update set
    seq = excluded.seq, category = excluded.category, name = excluded.name,
    target_text = excluded.target_text, comparator = excluded.comparator,
    target = excluded.target, attribute = excluded.attribute,
    target_year = excluded.target_year, baseline = excluded.baseline,
    baseline_year = excluded.baseline_year
