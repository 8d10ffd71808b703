-- purpose: record how many rows the backup phase found the run will change
update tenant_runs set planned_changes = %(planned)s where run_no = %(run_no)s
