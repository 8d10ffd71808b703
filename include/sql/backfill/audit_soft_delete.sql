-- purpose: one audit row per orphan the chunk is about to soft-delete
insert into tenant_audit_log
    (run_id, spec, table_name, row_id, column_name, old_value, new_value, action, source, created_at)
select
    %(run_id)s,
    %(spec)s,
    %(table_name)s,
    d.row_id,
    %(column_name)s,
    cast(t.{{ target.soft_delete }} as char),
    %(deleted_at)s,
    %(action)s,
    coalesce(d.source_label, %(source)s),
    utc_timestamp(6)
from tenant_chunk_decisions as d
straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
where t.{{ target.tenant }} is null
  and t.{{ target.soft_delete }} is null
