-- purpose: the backup table of a target: every column of every row a run changes, keyed by run
create table if not exists {{ backup_table }} (
    backup_run_id varchar(250) not null,
    backed_up_at datetime(6) not null,
    {% for column in backup_columns %}
    {{ column.name }} {{ column.type }} null default null,
    {% endfor %}
    primary key (backup_run_id, {{ target.key }})
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
