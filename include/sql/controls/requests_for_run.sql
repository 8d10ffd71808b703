-- purpose: the pause and cancel requests that reach one run (its spec or every run; this run or any run of it)
select c.action as action, c.scope as scope, c.run_id as run_id, c.requested_by as requested_by,
       c.requested_at as requested_at
from tenant_run_controls as c
where c.scope in (%(spec)s, '*')
  and c.run_id in (%(run_id)s, '')
order by c.action = 'cancel' desc, c.requested_at
