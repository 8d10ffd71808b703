-- purpose: how many rows a run changed on a table, how many a rollback restored already, and how many it backed up
{% from "_restored.sql" import rollback_rows_of %}
select
    count(distinct a.{{ bk_key }}) as changed_rows,
    count(distinct case when r.id is not null then a.{{ bk_key }} end) as already_restored,
    count(distinct b.{{ target.key }}) as backed_up_rows
from tenant_audit_log as a
{{ rollback_rows_of("a", "r") }}
left join {{ backup_table }} as b
    on b.backup_run_id = a.run_id
    and b.{{ target.key }} = {{ as_target_key("a." ~ bk_key) }}
where a.run_id = %(run_id)s
  and a.table_name = %(table_name)s
  and a.action in ('backfill', 'soft_delete', 'review_decision')
