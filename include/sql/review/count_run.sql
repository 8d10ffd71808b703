-- purpose: review rows this run owns, per reason
select q.reason, count(*) as row_count
from tenant_review_queue as q
where q.last_run_no = %(run_no)s and q.status = 'open'
group by q.reason
