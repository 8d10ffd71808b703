-- purpose: (shared macro) join a run's audit rows to the rollback rows that restored them
{#
  `left join … where r.id is null` keeps the audit rows no rollback restored; `r.id is not null` the
  restored ones. The join is on the audit's (spec, table_name, row_id, row_key) index: written as NOT
  EXISTS, MariaDB chose to materialize every rollback row of the table for each statement, which made a
  rollback of 229k rows at 1M customers take minutes. `same_column`: the rollback row restored this
  audit row's own column (the audit check counts values, not rows).
#}
{% macro rollback_rows_of(audit, r, same_column=false) -%}
left join tenant_audit_log as {{ r }}
    on {{ r }}.spec = {{ audit }}.spec
    and {{ r }}.table_name = {{ audit }}.table_name
    and {{ r }}.row_id = {{ audit }}.row_id
    and {{ r }}.row_key = {{ audit }}.row_key
    and {{ r }}.action = 'rollback'
    and {{ r }}.source = {{ audit }}.run_id
    {% if same_column %}and {{ r }}.column_name = {{ audit }}.column_name{% endif %}
{%- endmacro %}
