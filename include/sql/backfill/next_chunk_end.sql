-- purpose: the upper key of the next keyset chunk of NULL-tenant rows after %(after)s (up to %(last_key)s, if given)
-- (a real run's last_key is the largest key at preflight: rows inserted later are reported, never acted on)
select max(chunk.row_id) as chunk_end, count(*) as chunk_rows
from (
    select t.{{ target.key }} as row_id
    from {{ target.table }} as t
    where t.{{ target.tenant }} is null
      and t.{{ target.key }} > %(after)s
      and (%(last_key)s is null or t.{{ target.key }} <= %(last_key)s)
    order by t.{{ target.key }}
    limit %(batch_size)s
) as chunk
