-- purpose: one reviewer decision into the chunk scratch table
insert into tenant_chunk_decisions
    (row_id, outcome, source_no, tenant, candidates, soft_deleted, disagreeing_sources, source_label)
values (%(row_id)s, %(outcome)s, null, %(tenant)s, null, 0, 0, %(source_label)s)
