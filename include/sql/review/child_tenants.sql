-- purpose: the tenants a relation's child rows carry for the given parent rows (a decision must agree with them)
select c.{{ relation.foreign_key }} as row_id, c.{{ relation.tenant }} as tenant, count(*) as child_rows
from {{ relation.table }} as c
where c.{{ relation.foreign_key }} in %(ids)s
  and c.{{ relation.tenant }} is not null
group by c.{{ relation.foreign_key }}, c.{{ relation.tenant }}
