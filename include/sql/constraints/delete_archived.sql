-- purpose: remove the archived rows from the target (guarded: still NULL tenant, still soft-deleted)
delete t
from {{ target.table }} as t
join tenant_chunk_decisions as d on d.row_id = t.{{ target.key }}
join {{ backup_table }} as b on b.backup_run_id = %(run_id)s and b.{{ target.key }} = d.row_id
where t.{{ target.tenant }} is null
  and t.{{ target.soft_delete }} is not null
