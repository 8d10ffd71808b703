-- purpose: the soft-deleted NULL-tenant rows of one chunk that no related row points to (safe to archive)
{% from "constraints/_archivable.sql" import archivable with context %}
insert into tenant_chunk_decisions
    (row_id, outcome, source_no, tenant, candidates, soft_deleted, disagreeing_sources, source_label)
select t.{{ target.key }}, 'archive', null, null, null, 1, 0, null
from {{ target.table }} as t
where t.{{ target.tenant }} is null
  and t.{{ target.key }} > %(lo)s
  and t.{{ target.key }} <= %(hi)s
  and {{ archivable("t") }}
