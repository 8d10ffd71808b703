-- purpose: values the watched run wrote that their row no longer holds, with no later audited change to explain it
-- (a later audit row on the same row and column, a rollback, a review decision or a later run, accounts for the
--  value now; what is left was changed outside the project since the run. Values compare as bytes, as rollback does.)
with run as (
    select run_id, spec, table_name from tenant_runs where run_no = {{ run_no | int }}
),
written as (
    select a.{{ bk_key }} as row_id, a.column_name, a.new_value
    from tenant_audit_log as a
    where a.run_id = (select run_id from run)
      and a.spec = (select spec from run)
      and a.table_name = (select table_name from run)
      and a.action in ('backfill', 'soft_delete')
      and a.column_name in %(watched_columns)s
      and not exists (
          select 1
          from tenant_audit_log as later
          where later.spec = a.spec
            and later.table_name = a.table_name
            and later.row_id = a.row_id
            and later.row_key = a.row_key
            and later.column_name = a.column_name
            and later.id > a.id
      )
),
now_held as (
    select
        w.row_id,
        w.column_name,
        w.new_value as written_value,
        case w.column_name
            {% for column in watched %}
            when %(watched_column_{{ loop.index | int }})s then cast(t.{{ column }} as char)
            {% endfor %}
        end as current_value,
        {{ ("t." ~ target.updated_at) if target.updated_at else "null" }} as updated_at
    from written as w
    join {{ target.table }} as t on t.{{ target.key }} = {{ as_target_key("w.row_id") }}
)
select row_id, column_name, written_value, current_value, updated_at
from now_held
where not (cast(current_value as binary) <=> cast(written_value as binary))
order by row_id, column_name
