-- purpose: how many rows the current chunk decided to act on
select count(*) as decided_rows from tenant_chunk_decisions
