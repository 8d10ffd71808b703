-- purpose: drop this run's older backup of the chunk's rows, so the backup is the row as it was just before our write
delete b
from {{ backup_table }} as b
join tenant_chunk_decisions as d on d.row_id = b.{{ target.key }}
where b.backup_run_id = %(run_id)s
