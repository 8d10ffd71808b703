-- purpose: active rows with a NULL tenant that existed at preflight and are neither under review nor the application's doing
-- (rows inserted after preflight, or written by the application during the run, are listed in the run's summary
--  as having arrived during the run: the next run and the daily validation take them up)
{% from "_application_writes.sql" import app_clock, written_by_application with context %}
{% from "_review_queue.sql" import join_known_review_rows with context %}
with run as (
    select spec, table_name, {{ bk_max_key }} as max_key_before from tenant_runs where run_no = {{ run_no | int }}
),
{{ app_clock() }}
select t.{{ target.key }} as row_id, t.{{ target.tenant }} as tenant
from {batch} as t
{{ join_known_review_rows("t") }}
where t.{{ target.tenant }} is null
  and not {{ deleted("t") }}
  and q.spec is null
  and t.{{ target.key }} <= {{ as_target_key("(select max_key_before from run)") }}
  and not {{ written_by_application("t") }}
