-- purpose: what on-call was told about each failing (or again passing) check of a validation: new, grown, known or resolved, and when it was paged
create table if not exists tenant_validation_alerts (
    id bigint unsigned not null auto_increment primary key,
    validation_no bigint unsigned not null,
    spec varchar(64) not null,
    run_id varchar(250) not null,
    check_name varchar(128) not null,
    status varchar(16) not null,
    observed_value varchar(255) null,
    paged tinyint not null,
    paged_at timestamp(6) null default null,
    recorded_at timestamp(6) not null default current_timestamp(6),
    unique key tenant_validation_alerts_check (spec, check_name, validation_no)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
