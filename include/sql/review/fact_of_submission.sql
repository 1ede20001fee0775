select value, numerator, denominator, note
from fact_value
where submission_id = :submission_id and region_code = :region_code
    and indicator_code = :indicator_code
