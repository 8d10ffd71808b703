-- purpose: lock the target rows a chunk of decisions is about
select count(*) as locked_rows
from {{ target.table }} as t
where t.{{ target.key }} in %(ids)s
for update
