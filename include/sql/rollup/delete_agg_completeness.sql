delete from agg_completeness where plan_code = :plan_code and year = :year
