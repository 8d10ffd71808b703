-- purpose: the validation history: one row per check per validation (tenant_constraints reads it)
create table if not exists tenant_validation_history (
    id bigint unsigned not null auto_increment primary key,
    validation_no bigint unsigned not null,
    spec varchar(64) not null,
    run_id varchar(250) not null,
    check_name varchar(128) not null,
    severity varchar(16) not null,
    observed_value varchar(255) null,
    passed tinyint not null,
    sample_ids varchar(1024) null,
    checked_at timestamp(6) not null default current_timestamp(6),
    key tenant_validation_history_spec (spec, checked_at)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
