-- purpose: one audit row per value the rollback is about to restore (source = the run rolled back)
{% from "_same_value.sql" import same_value %}
insert into tenant_audit_log
    (run_id, spec, table_name, {{ bk_key }}, column_name, old_value, new_value, action, source, created_at)
select %(rollback_run_id)s, %(spec)s, %(table_name)s, d.row_id, %(column_name)s,
       cast(t.{{ column }} as char), cast(b.{{ column }} as char), 'rollback', %(run_id)s, utc_timestamp(6)
from tenant_chunk_decisions as d
straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
straight_join {{ backup_table }} as b on b.backup_run_id = %(run_id)s and b.{{ target.key }} = d.row_id
where not ({{ same_value("t." ~ column, "b." ~ column) }})
