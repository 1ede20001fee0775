insert into dim_indicator (
    indicator_code, name, unit, aggregation, scale, numerator_def, denominator_def,
    valid_min, valid_max
)
values (
    :indicator_code, :name, :unit, :aggregation, :scale, :numerator_def, :denominator_def,
    :valid_min, :valid_max
)
on conflict (indicator_code) do update set
    name = excluded.name, unit = excluded.unit, aggregation = excluded.aggregation,
    scale = excluded.scale, numerator_def = excluded.numerator_def,
    denominator_def = excluded.denominator_def,
    valid_min = excluded.valid_min, valid_max = excluded.valid_max
