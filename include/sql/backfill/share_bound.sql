-- purpose: the key that ends a share of the NULL-tenant rows: the row at %(offset)s after %(after)s (up to %(last_key)s)
select t.{{ target.key }} as bound
from {{ target.table }} as t
where t.{{ target.tenant }} is null
  and t.{{ target.key }} > %(after)s
  and (%(last_key)s is null or t.{{ target.key }} <= %(last_key)s)
order by t.{{ target.key }}
limit 1 offset %(offset)s
