-- purpose: the rows the current chunk decided to act on (sample ids for logs and errors)
select row_id from tenant_chunk_decisions order by row_id
