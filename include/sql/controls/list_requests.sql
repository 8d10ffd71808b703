-- purpose: every open pause and cancel request on this database, for the operator page and the CLI
select c.action as action, c.scope as scope, c.run_id as run_id, c.requested_by as requested_by,
       c.requested_at as requested_at
from tenant_run_controls as c
order by c.requested_at
