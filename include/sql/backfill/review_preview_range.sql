-- purpose: the rows of one key range that would go to manual review, with what the reviewer sees
{% set with_candidates = true %}
{% include "backfill/_classify.sql" %}
select
    d.row_id,
    d.outcome as reason,
    d.candidates
    {% for column in review_columns %}
    , t.{{ column }}
    {% endfor %}
from decided as d
join {{ target.table }} as t on t.{{ target.key }} = d.row_id
where d.outcome in ('conflict', 'no_tenant_evidence', 'unknown_tenant')
   {% if orphans_to_review %}
   or (d.outcome = 'orphan' and d.soft_deleted = 0)
   {% endif %}
order by d.row_id
