-- purpose: child rows of one relation whose tenant differs from their parent row's (both known), with both ids
select
    {{ ("c." ~ child_key) if child_key else "null" }} as child_id,
    p.{{ target.key }} as parent_id,
    p.{{ target.tenant }} as parent_tenant,
    c.{{ relation.tenant }} as child_tenant
from {{ target.table }} as p
join {{ relation.table }} as c on c.{{ relation.foreign_key }} = p.{{ target.key }}
where c.{{ relation.tenant }} <> p.{{ target.tenant }}
order by p.{{ target.key }}{{ (", c." ~ child_key) if child_key else "" }}
