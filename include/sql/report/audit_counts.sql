-- purpose: audit rows a run wrote on a table, per action
select a.action, count(*) as row_count
from tenant_audit_log as a
where a.run_id = %(run_id)s and a.table_name = %(table_name)s
group by a.action
