-- purpose: soft-delete orphans (no row in any evidence table); a row already soft-deleted keeps its timestamp;
-- (STRAIGHT_JOIN: the chunk's scratch table drives; left alone, the optimizer may walk every NULL row)
-- never without a backup row (joined)
{% from "_application_writes.sql" import keep_auto_updated with context %}
update tenant_chunk_decisions as d
straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
straight_join {{ backup_table }} as b on b.backup_run_id = %(run_id)s and b.{{ target.key }} = d.row_id
set t.{{ target.soft_delete }} = %(deleted_at)s{{ keep_auto_updated("t") }}
where t.{{ target.tenant }} is null
  and t.{{ target.soft_delete }} is null
