-- purpose: the rows of one chunk that can be restored: backed up and untouched since the run wrote them
insert into tenant_chunk_decisions
    (row_id, outcome, source_no, tenant, candidates, soft_deleted, disagreeing_sources, source_label)
{% include "rollback/_written_values.sql" %}
select row_id, 'rollback', null, null, null, 0, 0, null
from compared
where backed_up and unchanged_since
