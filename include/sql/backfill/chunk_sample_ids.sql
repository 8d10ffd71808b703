-- purpose: the first 20 rows the current chunk decided to act on (the sample ids logs and errors name)
select row_id from tenant_chunk_decisions order by row_id limit 20
