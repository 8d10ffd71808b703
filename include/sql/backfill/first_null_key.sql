-- purpose: the smallest key with a NULL tenant (up to %(last_key)s, if given), where the keyset walk starts
select min(t.{{ target.key }}) as first_key
from {{ target.table }} as t
where t.{{ target.tenant }} is null
  and (%(last_key)s is null or t.{{ target.key }} <= %(last_key)s)
