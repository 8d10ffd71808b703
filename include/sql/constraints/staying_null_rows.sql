-- purpose: the first NULL-tenant rows that would still be NULL when the DDL runs (a refusal names them),
-- soft-deleted included (NOT NULL would fail, or worse, write 0); with archive_orphans asked for, the rows it
-- moves are left out before the limit, so a table whose first thousands of NULL rows are archivable still
-- names the ones that block
{% from "constraints/_archivable.sql" import archivable with context %}
select t.{{ target.key }} as row_id
from {{ target.table }} as t
where t.{{ target.tenant }} is null
  and not (%(archiving)s and ({{ archivable("t") }}))
order by t.{{ target.key }}
limit %(sample_size)s
