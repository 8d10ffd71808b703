-- purpose: the rows the application inserted or wrote while a run was going on, with what the run did about each
-- (the gates leave these rows out; the summary lists them so nothing the application did goes unseen)
{% from "_application_writes.sql" import app_clock, created_by_application, written_by_application with context %}
with run as (
    select run_id, spec, table_name, coalesce({{ bk_max_key }}, {{ "''" if key_text else -9223372036854775808 }}) as max_key_before
    from tenant_runs
    where run_no = {{ run_no | int }}
),
{{ app_clock() }},
touched as (
    select
        t.{{ target.key }} as row_id,
        t.{{ target.tenant }} as tenant,
        {{ deleted("t") }} as soft_deleted,
        {{ key_range("t", range_size) }} as range_no,
        (t.{{ target.key }} > {{ as_target_key("(select max_key_before from run)") }}
         {% if key_text %}or {{ created_by_application("t") }}{% endif %}) as inserted
    from {{ target.table }} as t
    -- (a text key that is not ordered by time, a UUIDv4, can land below the scope end: the change marker finds it)
    where t.{{ target.key }} > {{ as_target_key("(select max_key_before from run)") }}
       or {{ written_by_application("t") }}
)
select
    w.row_id,
    w.range_no,
    w.inserted,
    (w.tenant is null and not w.soft_deleted and q.spec is null) as null_tenant_not_handled,
    exists (
        select 1
        from tenant_audit_log as a
        where a.run_id = (select run_id from run)
          and a.table_name = (select table_name from run)
          and {{ bk_match("a", "w.row_id") }}
    ) as changed_by_the_run
from touched as w
left join tenant_review_queue as q
    on {{ bk_match("q", "w.row_id") }}
    and q.spec = (select spec from run)
    and q.table_name = (select table_name from run)
    and q.status in ('open', 'skipped')
order by w.row_id
