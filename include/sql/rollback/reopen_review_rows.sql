-- purpose: review rows whose decision was rolled back are open again
update tenant_chunk_decisions as d
straight_join tenant_review_queue as q
    on q.spec = %(spec)s and q.table_name = %(table_name)s and {{ bk_match("q", "d.row_id") }}
set q.status = 'open', q.updated_at = utc_timestamp(6)
where q.status = 'applied'
