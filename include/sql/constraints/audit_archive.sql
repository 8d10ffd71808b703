-- purpose: one audit row per archived row (the whole row moves; its copy is in the backup and archive tables)
insert into tenant_audit_log
    (run_id, spec, table_name, {{ bk_key }}, column_name, old_value, new_value, action, source, created_at)
select %(run_id)s, %(spec)s, %(table_name)s, d.row_id, %(column_name)s,
       cast(d.row_id as char), null, 'archive', %(source)s, utc_timestamp(6)
from tenant_chunk_decisions as d
