-- purpose: what a person asked of running writers: pause (one spec, one run, or every run on this database) or cancel
create table if not exists tenant_run_controls (
    action varchar(16) not null,          -- pause | cancel
    scope varchar(64) not null,           -- a spec name, or '*' for every run on this database
    run_id varchar(250) not null default '',  -- '' = every run of the scope
    requested_by varchar(128) not null,
    requested_at datetime(6) not null,
    primary key (action, scope, run_id)
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
