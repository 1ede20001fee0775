insert into plan_indicator (
    plan_code, indicator_code, seq, category, name, target_text, comparator, target,
    attribute, target_year, baseline, baseline_year, unit, factor, assess_comparator,
    assess_target
)
values (
    :plan_code, :indicator_code, :seq, :category, :name, :target_text, :comparator, :target,
    :attribute, :target_year, :baseline, :baseline_year, :unit, :factor, :assess_comparator,
    :assess_target
)
on conflict (plan_code, indicator_code) do update set
    seq = excluded.seq, category = excluded.category, name = excluded.name,
    target_text = excluded.target_text, comparator = excluded.comparator,
    target = excluded.target, attribute = excluded.attribute,
    target_year = excluded.target_year, baseline = excluded.baseline,
    baseline_year = excluded.baseline_year, unit = excluded.unit, factor = excluded.factor,
    assess_comparator = excluded.assess_comparator, assess_target = excluded.assess_target
