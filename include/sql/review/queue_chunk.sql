-- purpose: put the chunk's review rows in the review queue; this run becomes their owner
insert into tenant_review_queue
    (spec, table_name, {{ bk_key }}, reason, candidates, status, first_run_no, last_run_no, created_at, updated_at)
select %(spec)s, %(table_name)s, d.row_id, d.outcome, d.candidates, 'open', %(run_no)s, %(run_no)s,
       utc_timestamp(6), utc_timestamp(6)
from tenant_chunk_decisions as d
on duplicate key update
    reason = values(reason),
    candidates = values(candidates),
    last_run_no = values(last_run_no),
    updated_at = values(updated_at),
    status = 'open'
