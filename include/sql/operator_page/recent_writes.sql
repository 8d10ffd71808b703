-- purpose: a run's writes in the audit log: rows written in the recent window, and when its first audited write came
select
    count(distinct case when a.created_at >= %(since)s then a.row_id end,
                   case when a.created_at >= %(since)s then a.row_key end) as recent_rows,
    min(a.created_at) as first_write_at
from tenant_audit_log as a
where a.run_id = %(run_id)s and a.spec = %(spec)s and a.table_name = %(table_name)s
