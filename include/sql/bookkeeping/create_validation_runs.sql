-- purpose: one row per validation of a spec (daily DAG or CLI); new-leak checks compare against the previous one
create table if not exists tenant_validation_runs (
    validation_no bigint unsigned not null auto_increment primary key,
    spec varchar(64) not null,
    run_id varchar(250) not null,
    mode varchar(16) not null,
    passed tinyint null,
    data_docs varchar(1024) null,
    started_at timestamp(6) not null default current_timestamp(6),
    finished_at timestamp(6) null default null,
    key tenant_validation_runs_spec (spec, validation_no)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
