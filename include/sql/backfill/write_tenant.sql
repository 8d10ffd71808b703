-- purpose: write the decided tenant, never over a value the application wrote meanwhile, never without a backup
-- (STRAIGHT_JOIN: the chunk's scratch table drives; left alone, the optimizer may walk every NULL row)
-- (the join on the backup row makes "written = decided" also prove "every written row is backed up")
{% from "_application_writes.sql" import keep_auto_updated with context %}
update tenant_chunk_decisions as d
straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
straight_join {{ backup_table }} as b on b.backup_run_id = %(run_id)s and b.{{ target.key }} = d.row_id
set t.{{ target.tenant }} = d.tenant{{ keep_auto_updated("t") }}
where t.{{ target.tenant }} is null
