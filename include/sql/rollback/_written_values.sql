-- purpose: (shared CTE) per row of one chunk, the values the run wrote, next to its backup
-- (written values are compared as bytes: exact, and free of collation differences)
{% from "_same_value.sql" import same_value %}
{% from "_restored.sql" import rollback_rows_of %}
with written as (
    select
        a.{{ bk_key }} as row_id,
        {% for column in written_columns %}
        max(case when a.column_name = %(written_column_{{ loop.index | int }})s then a.new_value end) as written_{{ loop.index | int }},
        max(case when a.column_name = %(written_column_{{ loop.index | int }})s then 1 else 0 end) as audited_{{ loop.index | int }}{{ "," if not loop.last }}
        {% endfor %}
    from tenant_audit_log as a
    -- not restored yet by an earlier (possibly interrupted) rollback of this run
    {{ rollback_rows_of("a", "r") }}
    where a.run_id = %(run_id)s
      and a.table_name = %(table_name)s
      and a.action in ('backfill', 'soft_delete', 'review_decision')
      and a.{{ bk_key }} > %(lo)s
      and a.{{ bk_key }} <= %(hi)s
      and r.id is null
    group by a.{{ bk_key }}
),
compared as (
    select
        w.row_id,
        (b.{{ target.key }} is not null) as backed_up,
        (1
            {% for column in other_columns %}
            and {{ same_value("t." ~ column, "b." ~ column) }}
            {% endfor %}
        )
        {% for column in written_columns %}
        -- a column the run wrote must still hold what it wrote; one it did not write, what the backup holds
        and (case when w.audited_{{ loop.index | int }} = 1
                  then cast(cast(t.{{ column }} as char) as binary) <=> cast(w.written_{{ loop.index | int }} as binary)
                  else {{ same_value("t." ~ column, "b." ~ column) }} end)
        {% endfor %}
        as unchanged_since
    from written as w
    join {{ target.table }} as t on t.{{ target.key }} = {{ as_target_key("w.row_id") }}
    left join {{ backup_table }} as b
        on b.backup_run_id = %(run_id)s
        and b.{{ target.key }} = {{ as_target_key("w.row_id") }}
)
