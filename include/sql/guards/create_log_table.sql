-- purpose: tenant_guard_log: one row per NULL tenant a log-mode guard let in (written by the trigger, in the writer's transaction)
create table if not exists {{ log_table }} (
    id bigint unsigned not null auto_increment primary key,
    table_name varchar(64) not null,
    column_name varchar(64) not null,  -- the tenant column that was NULL
    row_id bigint not null default 0,  -- an integer key (the real one: the log trigger runs after the insert); 0 when the key is text
    row_key varchar(255) character set utf8mb4 collate utf8mb4_bin not null default '',  -- a text key, exact bytes
    event varchar(16) not null,  -- insert | update
    connection_user varchar(384) not null,  -- user(): the writer's login user@host (current_user() in a trigger is its definer)
    logged_at datetime(6) not null,  -- utc_timestamp(6)
    key tenant_guard_log_table (table_name, id)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
