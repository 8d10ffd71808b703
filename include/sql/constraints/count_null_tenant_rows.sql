-- purpose: how many rows have a NULL tenant, active and soft-deleted
select
    sum(not {{ deleted("t") }}) as active,
    sum({{ deleted("t") }}) as soft_deleted
from {{ target.table }} as t
where t.{{ target.tenant }} is null
