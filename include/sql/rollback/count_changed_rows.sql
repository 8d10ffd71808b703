-- purpose: how many rows a run changed on a table, and whether it backed them up
select
    count(distinct a.{{ bk_key }}) as changed_rows,
    count(distinct case when exists (
        select 1 from tenant_audit_log as r
        where r.action = 'rollback' and r.source = a.run_id and r.spec = a.spec and r.table_name = a.table_name
          and {{ bk_match("r", "a." ~ bk_key) }}
    ) then a.{{ bk_key }} end) as already_restored,
    count(distinct b.{{ target.key }}) as backed_up_rows
from tenant_audit_log as a
left join {{ backup_table }} as b
    on b.backup_run_id = a.run_id
    and b.{{ target.key }} = {{ as_target_key("a." ~ bk_key) }}
where a.run_id = %(run_id)s
  and a.table_name = %(table_name)s
  and a.action in ('backfill', 'soft_delete', 'review_decision')
