-- purpose: rows whose tenant names no row of the tenant table
select t.{{ target.key }} as row_id, t.{{ target.tenant }} as tenant
from {batch} as t
left join {{ tenant_table.table }} as tt on tt.{{ tenant_table.key }} = t.{{ target.tenant }}
where t.{{ target.tenant }} is not null
  and tt.{{ tenant_table.key }} is null
