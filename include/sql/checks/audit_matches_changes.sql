-- purpose: per backed-up row, the audited values must equal the values that differ from the backup
-- (rows the application wrote during the run cannot be judged this way: they are listed in the run's summary)
{% from "_application_writes.sql" import app_clock, written_by_application with context %}
{% from "_same_value.sql" import same_value %}
{% from "_restored.sql" import rollback_rows_of %}
with run as (
    select run_id from tenant_runs where run_no = {{ run_no | int }}
),
{{ app_clock() }},
changed as (
    select
        b.{{ target.key }} as row_id,
        0
        {% for column in written_columns %}
            + (not ({{ same_value("t." ~ column, "b." ~ column) }}))
        {% endfor %}
            as changed_values,
        {{ written_by_application("t") }} as by_application
    from {{ backup_table }} as b
    join {batch} as t on t.{{ target.key }} = b.{{ target.key }}
    where b.backup_run_id = (select run_id from run)
),
audited as (
    select {{ as_target_key("a." ~ bk_key) }} as row_id, count(*) as audited_values
    from tenant_audit_log as a
    -- values a later tenant_rollback restored are no longer changes of this run
    {{ rollback_rows_of("a", "r", same_column=true) }}
    where a.run_id = (select run_id from run)
      and a.table_name = (select table_name from tenant_runs where run_no = {{ run_no | int }})
      and a.action <> 'rollback'
      and r.id is null
    group by a.{{ bk_key }}
),
-- one pass over both sides (a full outer join by row): MariaDB materialized a CTE named twice twice, and the
-- run's audit rows are the larger side (measured at 1M customers: 6.1 s -> see benchmarks/README.md)
both_sides as (
    select c.row_id, c.changed_values, null as audited_values, c.by_application
    from changed as c
    union all
    select a.row_id, null, a.audited_values, 0
    from audited as a
)
select row_id, max(changed_values) as changed_values, max(audited_values) as audited_values
from both_sides
group by row_id
-- a row with audit rows but no backed-up row (changed_values NULL) is always wrong
having max(changed_values) is null
    or (coalesce(max(audited_values), 0) <> max(changed_values) and not max(by_application))
order by row_id
