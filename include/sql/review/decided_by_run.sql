-- purpose: the rows an import run decided, with what it recorded for each (applied, skipped, settled)
select q.{{ bk_key }} as row_id, q.status
from tenant_review_queue as q
where q.spec = %(spec)s
  and q.table_name = %(table_name)s
  and q.last_run_no = %(run_no)s
  and q.status in ('applied', 'skipped', 'settled')
order by q.{{ bk_key }}
