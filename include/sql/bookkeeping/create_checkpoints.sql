-- purpose: the last key each phase of a run finished, written in the same transaction as that chunk
create table if not exists tenant_checkpoints (
    run_no bigint unsigned not null,
    phase varchar(64) not null,
    last_key bigint not null,
    chunks bigint not null default 0,
    rows_done bigint not null default 0,
    updated_at datetime(6) not null,
    primary key (run_no, phase)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
