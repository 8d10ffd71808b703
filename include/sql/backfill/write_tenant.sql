-- purpose: write the decided tenant, never over a value the application wrote meanwhile, never without a backup
-- (the join on the backup row makes "written = decided" also prove "every written row is backed up")
update {{ target.table }} as t
join tenant_chunk_decisions as d on d.row_id = t.{{ target.key }}
join {{ backup_table }} as b on b.backup_run_id = %(run_id)s and b.{{ target.key }} = d.row_id
set t.{{ target.tenant }} = d.tenant
where t.{{ target.tenant }} is null
