-- purpose: each leak the watch found, once per (spec, watched run, check, row): when it appeared, when the watch saw it, when on-call was told
create table if not exists tenant_watch_findings (
    spec varchar(64) not null,
    run_no bigint unsigned not null,
    check_name varchar(128) not null,
    row_ref varchar(255) character set utf8mb4 collate utf8mb4_bin not null,  -- the row's key as text, exact bytes
    table_name varchar(64) not null,
    detail varchar(1024) null,
    appeared_at datetime(6) null,  -- from the spec's created_at or updated_at column; null when the data cannot say
    first_seen_hour datetime not null,
    last_seen_hour datetime not null,
    last_seen_by varchar(250) not null,  -- the watch run that found it last
    resolved_hour datetime null,  -- the watch hour that no longer found it
    mailed_at datetime(6) null,
    mailed_by varchar(250) null,
    primary key (spec, run_no, check_name, row_ref)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
