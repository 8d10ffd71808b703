-- purpose: rows whose tenant is missing from the tenant table (the foreign key would be refused)
select t.{{ target.key }} as row_id, t.{{ target.tenant }} as tenant
from {{ target.table }} as t
left join {{ tenant_table.table }} as tt on tt.{{ tenant_table.key }} = t.{{ target.tenant }}
where t.{{ target.tenant }} is not null and tt.{{ tenant_table.key }} is null
order by t.{{ target.key }}
limit 20
