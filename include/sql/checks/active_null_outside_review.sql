-- purpose: active rows with a NULL tenant that the run did not leave open for review (must be none)
select t.{{ target.key }} as row_id, t.{{ target.tenant }} as tenant
from {batch} as t
left join tenant_review_queue as q
    on q.row_id = t.{{ target.key }}
    and q.last_run_no = {{ run_no | int }}
    and q.status = 'open'
where t.{{ target.tenant }} is null
  and t.{{ target.soft_delete }} is null
  and q.row_id is null
