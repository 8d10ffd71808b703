-- purpose: count the outcomes of the NULL-tenant rows in one key range (the preflight plan)
{# the write passes' own aggregates (no candidate lists): the same outcomes, a third of the cost #}
{% set with_candidates = false %}
{% include "backfill/_classify.sql" %}
select
    outcome,
    source_no,
    soft_deleted,
    count(*) as row_count,
    sum(disagreeing_sources > 0) as disagreeing_rows
from decided
group by outcome, source_no, soft_deleted
