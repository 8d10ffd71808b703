-- purpose: the display name of the given tenants, from the spec's tenant table (its name column when it has one)
select tt.{{ key }} as tenant_id, {% if name_column %}tt.{{ name_column }}{% else %}null{% endif %} as tenant_name
from {{ table }} as tt
where tt.{{ key }} in %(ids)s
