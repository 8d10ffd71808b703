-- purpose: soft-delete orphans (no row in any evidence table); a row already soft-deleted keeps its timestamp
update {{ target.table }} as t
join tenant_chunk_decisions as d on d.row_id = t.{{ target.key }}
set t.{{ target.soft_delete }} = %(deleted_at)s
where t.{{ target.tenant }} is null
  and t.{{ target.soft_delete }} is null
