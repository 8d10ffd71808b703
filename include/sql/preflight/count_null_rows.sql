-- purpose: how many rows have a NULL tenant (the denominator of progress lines)
select count(*) as null_rows
from {{ target.table }} as t
where t.{{ target.tenant }} is null
