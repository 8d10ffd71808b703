-- purpose: the backup must hold exactly one row per change the run planned
with run as (
    select run_id, planned_changes from tenant_runs where run_no = {{ run_no | int }}
),
backed_up as (
    select count(*) as backup_rows
    from {{ backup_table }} as b
    where b.backup_run_id = (select run_id from run)
)
select run.planned_changes as row_id, backed_up.backup_rows
from run
cross join backed_up
where not (backed_up.backup_rows <=> run.planned_changes)
