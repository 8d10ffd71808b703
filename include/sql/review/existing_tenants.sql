-- purpose: which of the given tenant ids exist in the tenant table
select tt.{{ tenant_table.key }} as tenant
from {{ tenant_table.table }} as tt
where tt.{{ tenant_table.key }} in %(tenants)s
