-- purpose: the decisions of a chunk whose row no longer needs them, to report them
select d.row_id
from tenant_chunk_decisions as d
straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
where t.{{ target.tenant }} is not null
   or (d.outcome = 'orphan' and {{ deleted("t") }})
order by d.row_id
