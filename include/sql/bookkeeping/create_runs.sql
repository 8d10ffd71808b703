-- purpose: one row per real (non-dry) run: what it planned, what the gates compare against, how it ended
create table if not exists tenant_runs (
    run_no bigint unsigned not null auto_increment primary key,
    run_id varchar(250) not null,
    spec varchar(64) not null,
    dag_id varchar(250) not null,
    table_name varchar(64) not null,
    max_key_before bigint null,
    max_key_before_text varchar(255) character set utf8mb4 collate utf8mb4_bin null,  -- the same for a text key
    row_count_before bigint not null,
    planned_changes bigint null,
    status varchar(32) not null,
    summary json null,
    started_at datetime(6) not null,
    finished_at datetime(6) null,
    unique key tenant_runs_run (run_id, spec, dag_id)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
