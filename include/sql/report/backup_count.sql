-- purpose: backup rows a run holds
select count(*) as backup_rows
from {{ backup_table }} as b
where b.backup_run_id = %(run_id)s
