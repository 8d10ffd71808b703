-- purpose: how many of the chunk's rows this run holds a backup of (must be all of them before any write)
select count(*) as backed_up
from tenant_chunk_decisions as d
straight_join {{ backup_table }} as b on b.backup_run_id = %(run_id)s and b.{{ target.key }} = d.row_id
