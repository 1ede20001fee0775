-- Whether submission s counts under the basis (rollup.BASES): 'accepted' its region's
-- current one (or, when past = 1, the one current at the as_of time); 'approved' the latest
-- a reviewer approved; 'approved_city' / 'approved_prov' of those, only where the figures
-- of the county's city / province are approved. Included (#include) after a WHERE's first
-- term. (No parameter is named in these comments: they would be bound.)
and (
    (
        cast(:basis as varchar(16)) = 'accepted'
        and :past = 0
        and s.is_current = 1
    )
    or (
        cast(:basis as varchar(16)) = 'accepted'
        and :past = 1
        and s.processed_at <= :as_of
        and (s.superseded_at is null or s.superseded_at > :as_of)
    )
    or (
        cast(:basis as varchar(16)) in ('approved', 'approved_city', 'approved_prov')
        and s.review_status = 'approved'
        and not exists (
            select 1
            from submission as newer
            where newer.region_code = s.region_code
                and newer.year = s.year
                and newer.review_status = 'approved'
                and newer.processed_at > s.processed_at
        )
        and (
            cast(:basis as varchar(16)) = 'approved'
            or exists (
                select 1
                from region_closure as up
                inner join region_approval as a
                    on up.ancestor_code = a.region_code and a.year = s.year
                inner join dim_region as level_region
                    on a.region_code = level_region.region_code
                where up.descendant_code = s.region_code
                    and a.state = 'approved'
                    and level_region.level = case cast(:basis as varchar(16))
                        when 'approved_city' then 'city' else 'province'
                    end
            )
        )
    )
)
