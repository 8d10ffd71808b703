-- purpose: write the decided tenant, never over a value the application wrote meanwhile
update {{ target.table }} as t
join tenant_chunk_decisions as d on d.row_id = t.{{ target.key }}
set t.{{ target.tenant }} = d.tenant
where t.{{ target.tenant }} is null
