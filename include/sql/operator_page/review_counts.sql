-- purpose: open review rows per spec and reason (the queue's size, whatever part of it the page lists)
select q.spec, q.reason, count(*) as review_rows
from tenant_review_queue as q
where q.status = 'open'
group by q.spec, q.reason
order by q.spec, q.reason
