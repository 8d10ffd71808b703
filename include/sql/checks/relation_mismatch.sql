-- purpose: child rows whose tenant differs from their parent row's tenant (both known)
select p.{{ target.key }} as row_id, p.{{ target.tenant }} as parent_tenant, c.{{ relation.tenant }} as child_tenant
from {batch} as p
join {{ relation.table }} as c on c.{{ relation.foreign_key }} = p.{{ target.key }}
where c.{{ relation.tenant }} <> p.{{ target.tenant }}
