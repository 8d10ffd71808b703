-- purpose: every row with a NULL tenant, soft-deleted included (NOT NULL would fail, or worse, write 0),
-- and whether archive_orphans could move it
{% from "constraints/_archivable.sql" import archivable with context %}
select
    t.{{ target.key }} as row_id,
    {{ deleted("t") }} as soft_deleted,
    ({{ archivable("t") }}) as archivable
from {{ target.table }} as t
where t.{{ target.tenant }} is null
order by t.{{ target.key }}
limit 1000
