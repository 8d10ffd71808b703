-- purpose: how many rows have a NULL tenant, active and soft-deleted
select
    sum(t.{{ target.soft_delete }} is null) as active,
    sum(t.{{ target.soft_delete }} is not null) as soft_deleted
from {{ target.table }} as t
where t.{{ target.tenant }} is null
