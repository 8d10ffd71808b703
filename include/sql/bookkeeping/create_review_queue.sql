-- purpose: rows left for manual review, one per (spec, row); the latest run that saw a row owns it
create table if not exists tenant_review_queue (
    spec varchar(64) not null,
    table_name varchar(64) not null,
    row_id bigint not null default 0,  -- an integer key; 0 when the target's key is text
    row_key varchar(255) character set utf8mb4 collate utf8mb4_bin not null default '',  -- a text key, exact bytes
    reason varchar(32) not null,
    candidates varchar(1024) null,
    status varchar(16) not null default 'open',
    first_run_no bigint unsigned not null,
    last_run_no bigint unsigned not null,
    created_at datetime(6) not null,
    updated_at datetime(6) not null,
    primary key (spec, table_name, row_id, row_key),
    key tenant_review_queue_run (last_run_no)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
