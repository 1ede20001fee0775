select region_code, year, state, reviewer, decided_at, comment
from region_approval
where year = :year
