-- purpose: the upper key of the next chunk of soft-deleted NULL-tenant rows
select max(chunk.row_id) as chunk_end, count(*) as chunk_rows
from (
    select t.{{ target.key }} as row_id
    from {{ target.table }} as t
    where t.{{ target.tenant }} is null
      and {{ deleted("t") }}
      and t.{{ target.key }} > %(after)s
    order by t.{{ target.key }}
    limit %(batch_size)s
) as chunk
