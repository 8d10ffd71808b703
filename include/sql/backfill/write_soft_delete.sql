-- purpose: soft-delete orphans (no row in any evidence table); a row already soft-deleted keeps its timestamp;
-- never without a backup row (joined)
update {{ target.table }} as t
join tenant_chunk_decisions as d on d.row_id = t.{{ target.key }}
join {{ backup_table }} as b on b.backup_run_id = %(run_id)s and b.{{ target.key }} = d.row_id
set t.{{ target.soft_delete }} = %(deleted_at)s
where t.{{ target.tenant }} is null
  and t.{{ target.soft_delete }} is null
