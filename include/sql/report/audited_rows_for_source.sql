-- purpose: rows a run's phase wrote, from the audit (exact even when a commit's acknowledgement was lost)
select count(distinct a.{{ bk_key }}) as written
from tenant_audit_log as a
where a.run_id = %(run_id)s
  and a.table_name = %(table_name)s
  and a.action = %(action)s
  and a.source = %(source)s
