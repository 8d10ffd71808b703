-- purpose: table size and NULL-tenant rows, active and soft-deleted
select
    count(*) as total_rows,
    sum(t.{{ target.tenant }} is null and not {{ deleted("t") }}) as active,
    sum(t.{{ target.tenant }} is null and {{ deleted("t") }}) as soft_deleted
from {{ target.table }} as t
