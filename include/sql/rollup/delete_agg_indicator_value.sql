delete from agg_indicator_value where plan_code = :plan_code and year = :year and basis = :basis
