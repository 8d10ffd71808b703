-- purpose: remove the archived rows from the target (guarded: still NULL tenant, still soft-deleted)
delete t
from {{ target.table }} as t
join tenant_chunk_decisions as d on d.row_id = t.{{ target.key }}
where t.{{ target.tenant }} is null
  and t.{{ target.soft_delete }} is not null
