-- purpose: empty the chunk scratch table before the next chunk
delete from tenant_chunk_decisions
