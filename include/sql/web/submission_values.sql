-- the values one submission brought, with the cell each came from
select
    region_code, indicator_code, value, numerator, denominator, note, flag, source_sheet,
    value_cell, numerator_cell, denominator_cell
from fact_value
where submission_id = :submission_id
order by region_code, indicator_code
