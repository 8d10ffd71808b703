-- purpose: (shared CTE) per row of one chunk, the values the run wrote, next to its backup
-- (written values are compared as bytes: exact, and free of collation differences)
{% from "_same_value.sql" import same_value %}
with written as (
    select
        a.row_id,
        max(case when a.column_name = %(tenant_column)s then a.new_value end) as tenant_written,
        max(case when a.column_name = %(tenant_column)s then 1 else 0 end) as tenant_audited,
        max(case when a.column_name = %(soft_delete_column)s then a.new_value end) as deleted_written,
        max(case when a.column_name = %(soft_delete_column)s then 1 else 0 end) as deleted_audited
    from tenant_audit_log as a
    where a.run_id = %(run_id)s
      and a.table_name = %(table_name)s
      and a.action in ('backfill', 'soft_delete', 'review_decision')
      and a.row_id > %(lo)s
      and a.row_id <= %(hi)s
      and not exists (  -- already restored by an earlier (possibly interrupted) rollback of this run
          select 1 from tenant_audit_log as r
          where r.action = 'rollback' and r.source = a.run_id and r.table_name = a.table_name and r.row_id = a.row_id
      )
    group by a.row_id
),
compared as (
    select
        w.row_id,
        (b.{{ target.key }} is not null) as backed_up,
        (
            {% for column in other_columns %}
            {{ same_value("t." ~ column, "b." ~ column) }}{{ " and" if not loop.last }}
            {% endfor %}
        )
        and (case when w.tenant_audited = 1
                  then cast(cast(t.{{ target.tenant }} as char) as binary) <=> cast(w.tenant_written as binary)
                  else {{ same_value("t." ~ target.tenant, "b." ~ target.tenant) }} end)
        and (case when w.deleted_audited = 1
                  then cast(cast(t.{{ target.soft_delete }} as char) as binary) <=> cast(w.deleted_written as binary)
                  else {{ same_value("t." ~ target.soft_delete, "b." ~ target.soft_delete) }} end) as unchanged_since
    from written as w
    join {{ target.table }} as t on t.{{ target.key }} = w.row_id
    left join {{ backup_table }} as b
        on b.backup_run_id = %(run_id)s
        and b.{{ target.key }} = w.row_id
)
