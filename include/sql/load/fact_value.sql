insert into fact_value (
    submission_id, region_code, indicator_code, year, value, numerator, denominator, note, flag
)
values (
    :submission_id, :region_code, :indicator_code, :year, :value, :numerator, :denominator,
    :note, :flag
)
on conflict (submission_id, region_code, indicator_code) do update set
    value = excluded.value, numerator = excluded.numerator, denominator = excluded.denominator,
    note = excluded.note, flag = excluded.flag
