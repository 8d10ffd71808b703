-- purpose: the smallest key with a NULL tenant, where the keyset walk starts
select min(t.{{ target.key }}) as first_key
from {{ target.table }} as t
where t.{{ target.tenant }} is null
