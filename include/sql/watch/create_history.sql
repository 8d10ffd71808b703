-- purpose: the 48-hour watch's record: one row per (spec, watched run, check, watch hour), clean hours included
create table if not exists tenant_watch_history (
    id bigint unsigned not null auto_increment primary key,
    spec varchar(64) not null,
    run_no bigint unsigned not null,
    check_name varchar(128) not null,
    watch_hour datetime not null,
    watch_run_id varchar(250) not null,
    table_name varchar(64) not null,
    found_rows int not null,
    new_rows int not null,
    passed tinyint not null,
    sample_ids varchar(1024) null,
    checked_at datetime(6) not null,
    unique key tenant_watch_history_check (spec, run_no, check_name, watch_hour)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
