-- purpose: the open review rows (one spec, or every spec), oldest row keys first per spec
select q.spec, q.table_name, q.row_id, q.row_key, q.reason, q.candidates, q.first_run_no, q.last_run_no, q.updated_at
from tenant_review_queue as q
where q.status = 'open'
  and (%(spec)s is null or q.spec = %(spec)s)
  and (%(run_no)s is null or q.last_run_no = %(run_no)s)
order by q.spec, q.table_name, q.row_id, q.row_key
limit %(limit)s
