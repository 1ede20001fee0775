-- the years that have submissions, newest first
select distinct year
from submission
where year is not null
order by year desc
