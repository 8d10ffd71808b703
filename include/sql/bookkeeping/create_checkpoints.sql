-- purpose: the last key each phase of a run finished, written in the same transaction as that chunk
create table if not exists tenant_checkpoints (
    run_no bigint unsigned not null,
    phase varchar(100) not null,  -- "backfill_" + a source name of up to 64 characters + ":w/W"
    last_key bigint not null default 0,
    -- the last key of this worker's share of the phase; null: the run's scope end (one worker)
    until_key bigint null,
    last_key_text varchar(255) character set utf8mb4 collate utf8mb4_bin null,  -- the same two for a text key
    until_key_text varchar(255) character set utf8mb4 collate utf8mb4_bin null,
    chunks bigint not null default 0,
    rows_done bigint not null default 0,
    updated_at datetime(6) not null,
    primary key (run_no, phase)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
