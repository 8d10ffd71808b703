-- purpose: the audit table: one row per value a run changed, written in the same transaction as the change
create table if not exists tenant_audit_log (
    id bigint unsigned not null auto_increment primary key,
    run_id varchar(250) not null,
    spec varchar(64) not null,
    table_name varchar(64) not null,
    row_id bigint not null default 0,  -- an integer key; 0 when the target's key is text
    row_key varchar(255) character set utf8mb4 collate utf8mb4_bin not null default '',  -- a text key, exact bytes
    column_name varchar(64) not null,
    old_value text null,
    new_value text null,
    action varchar(32) not null,
    source varchar(255) null,
    created_at datetime(6) not null,
    key tenant_audit_log_run (run_id, table_name, row_id, row_key),
    key tenant_audit_log_row (spec, table_name, row_id, row_key)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
