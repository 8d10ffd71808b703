-- purpose: rows each of the given runs changed so far: distinct rows in the audit log (a row audits one value per column)
select a.run_id, a.spec, a.table_name, count(distinct a.row_id, a.row_key) as rows_changed
from tenant_audit_log as a
where a.run_id in %(run_ids)s
group by a.run_id, a.spec, a.table_name
