-- purpose: remove the archived rows from the target (guarded: still NULL tenant, still soft-deleted)
delete t
from tenant_chunk_decisions as d
straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
straight_join {{ backup_table }} as b on b.backup_run_id = %(run_id)s and b.{{ target.key }} = d.row_id
where t.{{ target.tenant }} is null
  and {{ deleted("t") }}
