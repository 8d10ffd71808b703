-- purpose: drop decisions whose row no longer needs them (the application set a tenant, or it is already soft-deleted)
delete d
from tenant_chunk_decisions as d
straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
where t.{{ target.tenant }} is not null
   or (d.outcome = 'orphan' and {{ deleted("t") }})
