-- the approval levels of the region tree (units below a county report inside its submission)
select region_code, name, level, parent_code
from dim_region
where level in ('province', 'city', 'county')
