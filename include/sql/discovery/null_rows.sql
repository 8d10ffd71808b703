-- purpose: how many rows of one tenant table have a NULL tenant, active and soft-deleted
select
    count(*) as null_rows,
    {% if soft_delete %}
    coalesce(sum(t.{{ soft_delete }} is not null), 0) as soft_deleted
    {% else %}
    0 as soft_deleted
    {% endif %}
from {{ table }} as t
where t.{{ tenant }} is null
