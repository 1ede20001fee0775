-- load/fact_value for PostgreSQL: a file's facts in one COPY (Warehouse.insert_facts keeps the
-- last of a file's rows for the same unit and indicator, what the upsert's update does).
copy fact_value (
    submission_id, region_code, indicator_code, year, value, numerator, denominator, note, flag,
    source_sheet, value_cell, numerator_cell, denominator_cell
) from stdin
