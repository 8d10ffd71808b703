-- purpose: soft-deleted NULL-tenant rows that no related row points to (what archive_orphans would move)
select count(*) as archivable
from {{ target.table }} as t
where t.{{ target.tenant }} is null
  and {{ deleted("t") }}
  {% for relation in relations %}
  and not exists (select 1 from {{ relation.table }} as c where c.{{ relation.foreign_key }} = t.{{ target.key }})
  {% endfor %}
