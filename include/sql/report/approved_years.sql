-- the years in which something is approved (a submission or a region's figures): only files of
-- these years can be locked against resubmission
select distinct year from submission where review_status = 'approved'
union
select distinct year from region_approval where state = 'approved'
