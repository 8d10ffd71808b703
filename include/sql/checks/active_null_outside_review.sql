-- purpose: active rows with a NULL tenant that are not documented in the review queue (open or skipped)
with run as (
    select spec, table_name from tenant_runs where run_no = {{ run_no | int }}
)
select t.{{ target.key }} as row_id, t.{{ target.tenant }} as tenant
from {batch} as t
left join tenant_review_queue as q
    on q.row_id = t.{{ target.key }}
    and q.spec = (select spec from run)
    and q.table_name = (select table_name from run)
    and q.status in ('open', 'skipped')
where t.{{ target.tenant }} is null
  and t.{{ target.soft_delete }} is null
  and q.row_id is null
