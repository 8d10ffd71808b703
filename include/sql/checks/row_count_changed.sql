-- purpose: the rows that existed when the run started must all still exist (none inserted or deleted by us)
-- (with a text key, rows the application inserted during the run can sort below the key bound: their
--  created_at marker leaves them out, here and in insert_run.sql's count)
{% from "_application_writes.sql" import app_clock, created_by_application with context %}
with run as (
    select {{ bk_max_key }} as max_key_before, row_count_before
    from tenant_runs
    where run_no = {{ run_no | int }}
),
{{ app_clock() }},
now_present as (
    select count(*) as row_count
    from {batch} as t
    where t.{{ target.key }} <= {{ as_target_key("(select max_key_before from run)") }}
      {% if key_text %}
      and not {{ created_by_application("t") }}
      {% endif %}
)
select run.row_count_before as row_id, now_present.row_count as rows_now
from run
cross join now_present
where now_present.row_count <> run.row_count_before
