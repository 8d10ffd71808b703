-- purpose: open review rows each of the given runs owns (the latest run that saw a row owns it)
select q.last_run_no as run_no, count(*) as review_rows
from tenant_review_queue as q
where q.status = 'open' and q.last_run_no in %(run_nos)s
group by q.last_run_no
