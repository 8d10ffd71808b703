-- purpose: how many rows a rollback run restored, from its audit (exact even when a commit's acknowledgement was lost)
select count(distinct a.{{ bk_key }}) as restored
from tenant_audit_log as a
where a.run_id = %(rollback_run_id)s
  and a.table_name = %(table_name)s
  and a.action = 'rollback'
  and a.source = %(run_id)s
