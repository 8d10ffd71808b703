-- purpose: upgrade an audit table made before text keys: a text key column beside row_id, in both indexes
alter table tenant_audit_log
    alter column row_id set default 0,
    add column row_key varchar(255) character set utf8mb4 collate utf8mb4_bin not null default '' after row_id,
    drop index tenant_audit_log_run,
    add index tenant_audit_log_run (run_id, table_name, row_id, row_key),
    drop index tenant_audit_log_row,
    add index tenant_audit_log_row (spec, table_name, row_id, row_key)
