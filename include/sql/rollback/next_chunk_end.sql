-- purpose: the upper key of the next chunk of rows a run changed (keyset over its audit rows)
select max(chunk.row_id) as chunk_end, count(*) as chunk_rows
from (
    select distinct a.{{ bk_key }} as row_id
    from tenant_audit_log as a
    where a.run_id = %(run_id)s
      and a.table_name = %(table_name)s
      and a.action in ('backfill', 'soft_delete', 'review_decision')
      and a.{{ bk_key }} > %(after)s
      and not exists (  -- already restored by an earlier (possibly interrupted) rollback of this run
          select 1 from tenant_audit_log as r
          where r.action = 'rollback' and r.source = a.run_id and r.spec = a.spec and r.table_name = a.table_name
            and {{ bk_match("r", "a." ~ bk_key) }}
      )
    order by a.{{ bk_key }}
    limit %(batch_size)s
) as chunk
