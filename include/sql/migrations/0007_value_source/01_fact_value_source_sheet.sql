-- where each value was in the county's file: the workspace shows the cells a figure summed
alter table fact_value add column source_sheet text
