-- purpose: lock the rows of one chunk that the run changed
select count(*) as locked_rows
from {{ target.table }} as t
where t.{{ target.key }} > %(lo)s
  and t.{{ target.key }} <= %(hi)s
  and t.{{ target.key }} in (
      select a.row_id from tenant_audit_log as a where a.run_id = %(run_id)s and a.table_name = %(table_name)s
  )
for update
