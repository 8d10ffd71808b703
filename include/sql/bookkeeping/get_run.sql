-- purpose: read back a registered run
select run_no, run_id, spec, dag_id, max_key_before, row_count_before, planned_changes, status
from tenant_runs
where run_id = %(run_id)s and spec = %(spec)s and dag_id = %(dag_id)s
