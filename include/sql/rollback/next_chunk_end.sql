-- purpose: the upper key of the next chunk of rows a run changed (keyset over its audit rows)
-- (audit rows, not distinct rows: the index range stops after %(batch_size)s rows instead of sorting them all;
--  rows an earlier rollback restored are left out per chunk, in rollback/_written_values.sql)
select max(chunk.row_id) as chunk_end, count(distinct chunk.row_id) as chunk_rows
from (
    select a.{{ bk_key }} as row_id
    from tenant_audit_log as a
    where a.run_id = %(run_id)s
      and a.table_name = %(table_name)s
      and a.action in ('backfill', 'soft_delete', 'review_decision')
      and a.{{ bk_key }} > %(after)s
    order by a.{{ bk_key }}
    limit %(batch_size)s
) as chunk
