-- purpose: table size and NULL-tenant rows, active and soft-deleted
select
    count(*) as total_rows,
    sum(t.{{ target.tenant }} is null and t.{{ target.soft_delete }} is null) as active,
    sum(t.{{ target.tenant }} is null and t.{{ target.soft_delete }} is not null) as soft_deleted
from {{ target.table }} as t
