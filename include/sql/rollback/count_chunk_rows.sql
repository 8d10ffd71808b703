-- purpose: how many rows of one chunk the run changed
select count(distinct a.row_id) as changed_rows
from tenant_audit_log as a
where a.run_id = %(run_id)s
  and a.table_name = %(table_name)s
  and a.action in ('backfill', 'soft_delete', 'review_decision')
  and a.row_id > %(lo)s
  and a.row_id <= %(hi)s
  and not exists (  -- already restored by an earlier (possibly interrupted) rollback of this run
      select 1 from tenant_audit_log as r
      where r.action = 'rollback' and r.source = a.run_id and r.table_name = a.table_name and r.row_id = a.row_id
  )
