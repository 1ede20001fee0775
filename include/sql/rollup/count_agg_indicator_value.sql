-- rows of one plan, year and basis just computed (INSERT … SELECT has no row count on SQLite)
select count(*) from agg_indicator_value
where plan_code = :plan_code and year = :year and basis = :basis
