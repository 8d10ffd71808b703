-- purpose: a session-private scratch table holding one chunk's decisions, so every statement of the chunk agrees
create temporary table if not exists tenant_chunk_decisions (
    row_id bigint not null primary key,
    outcome varchar(32) not null,
    source_no int null,
    tenant bigint null,
    candidates varchar(1024) null,
    soft_deleted tinyint not null,
    disagreeing_sources int not null,
    source_label varchar(255) null
)
