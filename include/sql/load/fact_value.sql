insert into fact_value (
    submission_id, region_code, indicator_code, year, value, numerator, denominator, note, flag,
    source_sheet, value_cell, numerator_cell, denominator_cell
)
values (
    :submission_id, :region_code, :indicator_code, :year, :value, :numerator, :denominator,
    :note, :flag, :source_sheet, :value_cell, :numerator_cell, :denominator_cell
)
on conflict (submission_id, region_code, indicator_code) do update set
    value = excluded.value, numerator = excluded.numerator, denominator = excluded.denominator,
    note = excluded.note, flag = excluded.flag, source_sheet = excluded.source_sheet,
    value_cell = excluded.value_cell, numerator_cell = excluded.numerator_cell,
    denominator_cell = excluded.denominator_cell
