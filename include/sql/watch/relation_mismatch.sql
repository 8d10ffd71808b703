-- purpose: child rows of one relation whose tenant differs from their parent row's (both known), with both ids
-- (SELECT STRAIGHT_JOIN from the child: each child row finds its parent by primary key, checks/relation_mismatch.sql)
select straight_join
    {{ ("c." ~ child_key) if child_key else "null" }} as child_id,
    p.{{ target.key }} as parent_id,
    p.{{ target.tenant }} as parent_tenant,
    c.{{ relation.tenant }} as child_tenant
from {{ relation.table }} as c
join {{ target.table }} as p on p.{{ target.key }} = c.{{ relation.foreign_key }}
where c.{{ relation.tenant }} <> p.{{ target.tenant }}
order by p.{{ target.key }}{{ (", c." ~ child_key) if child_key else "" }}
