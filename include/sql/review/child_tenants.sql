-- purpose: the tenants a relation's child rows carry for the given parent rows (a decision must agree with them)
-- (the parent's key is read from the target: for a text key it is then spelled exactly as the queue holds it)
select t.{{ target.key }} as row_id, c.{{ relation.tenant }} as tenant, count(*) as child_rows
from {{ target.table }} as t
join {{ relation.table }} as c on c.{{ relation.foreign_key }} = t.{{ target.key }}
where t.{{ target.key }} in %(ids)s
  and c.{{ relation.tenant }} is not null
group by t.{{ target.key }}, c.{{ relation.tenant }}