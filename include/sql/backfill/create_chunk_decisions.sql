-- purpose: a session-private scratch table holding one chunk's decisions, so every statement of the chunk agrees
-- (row_id and tenant take the target's own column definitions: joins to the target compare like for like,
--  in its character set and collation, whatever the key's type)
create temporary table if not exists tenant_chunk_decisions (
    row_id {{ key_type }} not null primary key,
    outcome varchar(32) not null,
    source_no int null,
    tenant {{ tenant_type }} null,
    candidates varchar(1024) null,
    soft_deleted tinyint not null,
    disagreeing_sources int not null,
    source_label varchar(255) null
)
