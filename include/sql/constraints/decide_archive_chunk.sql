-- purpose: the soft-deleted NULL-tenant rows of one chunk that no related row points to (safe to archive)
insert into tenant_chunk_decisions
    (row_id, outcome, source_no, tenant, candidates, soft_deleted, disagreeing_sources, source_label)
select t.{{ target.key }}, 'archive', null, null, null, 1, 0, null
from {{ target.table }} as t
where t.{{ target.tenant }} is null
  and {{ deleted("t") }}
  and t.{{ target.key }} > %(lo)s
  and t.{{ target.key }} <= %(hi)s
  {% for relation in relations %}
  and not exists (select 1 from {{ relation.table }} as c where c.{{ relation.foreign_key }} = t.{{ target.key }})
  {% endfor %}
