-- purpose: which of the given rows are open review rows of a spec (the import may only decide those)
select q.row_id
from tenant_review_queue as q
where q.spec = %(spec)s
  and q.table_name = %(table_name)s
  and q.status = 'open'
  and q.row_id in %(ids)s
