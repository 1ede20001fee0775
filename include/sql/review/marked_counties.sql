-- the counties with a 待核实 mark of any state: only their receipts list marks
select distinct county_code from follow_up
