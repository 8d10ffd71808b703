-- purpose: store the decisions of one chunk for the rows this phase acts on ({{ selection }})
insert into tenant_chunk_decisions
    (row_id, outcome, source_no, tenant, candidates, soft_deleted, disagreeing_sources)
{% set with_candidates = selection in ("conflict", "review") %}
{% include "backfill/_classify.sql" %}
-- (candidates are cut to the scratch and queue columns' 1024 characters: one value of many hundreds of
--  tenants must not fail the chunk, and MySQL 8's default group_concat_max_len cuts at 1024 bytes anyway)
select row_id, outcome, source_no, tenant, left(candidates, 1024), soft_deleted, disagreeing_sources
from decided
{% if selection == "backfill" %}
where outcome = 'backfill' and source_no = %(source_no)s
{% elif selection == "soft_delete" %}
where outcome = 'orphan' and soft_deleted = 0 and by_application = 0
{% elif selection == "conflict" %}
where outcome = 'conflict'
{% elif selection == "review" %}
where outcome in ('no_tenant_evidence', 'unknown_tenant')
   {% if orphans_to_review %}
   -- the spec's orphans.action is review: a person decides what an active orphan is
   or (outcome = 'orphan' and soft_deleted = 0 and by_application = 0)
   {% endif %}
{% endif %}
