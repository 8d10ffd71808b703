-- purpose: lock the NULL-tenant rows of one chunk so nothing changes them between decision and write
select count(*) as locked_rows
from {{ target.table }} as t
where t.{{ target.tenant }} is null
  and t.{{ target.key }} > %(lo)s
  and t.{{ target.key }} <= %(hi)s
for update
