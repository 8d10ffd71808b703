-- purpose: soft-deleted NULL-tenant rows that no related row points to (what archive_orphans would move)
{% from "constraints/_archivable.sql" import archivable with context %}
select count(*) as archivable
from {{ target.table }} as t
where t.{{ target.tenant }} is null
  and {{ archivable("t") }}
