-- purpose: active rows with a NULL tenant that the review queue does not hold: leaks that appeared since the watched run
-- (open and skipped review rows are known to people; rows a rollback of the run restored, to a NULL tenant or
--  out of a soft delete, are the rollback's. created_since_run tells a row created since the run started from an
--  older row set to NULL since.)
{% from "_application_writes.sql" import app_clock with context %}
{% from "_review_queue.sql" import join_known_review_rows with context %}
with {{ app_clock() }},
run as (
    select run_id, spec, table_name from tenant_runs where run_no = {{ run_no | int }}
)
select
    t.{{ target.key }} as row_id,
    {% if target.created_at %}
    t.{{ target.created_at }} as created_at,
    coalesce(t.{{ target.created_at }} >= (select since from app_clock), 0) as created_since_run,
    {% else %}
    null as created_at,
    0 as created_since_run,
    {% endif %}
    {{ ("t." ~ target.updated_at) if target.updated_at else "null" }} as updated_at
from {{ target.table }} as t
{{ join_known_review_rows("t") }}
where t.{{ target.tenant }} is null
  and not {{ deleted("t") }}
  and q.spec is null
  and not exists (
      select 1
      from tenant_audit_log as r
      where r.spec = (select spec from run)
        and r.table_name = (select table_name from run)
        and {{ bk_match("r", "t." ~ target.key) }}
        and r.action = 'rollback'
        and r.source = (select run_id from run)
  )
order by t.{{ target.key }}
