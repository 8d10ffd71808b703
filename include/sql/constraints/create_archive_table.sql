-- purpose: where archived rows go: every column, keyed by the run that archived them
create table if not exists {{ archive_table }} (
    archive_run_id varchar(250) not null,
    archived_at datetime(6) not null,
    {% for column in backup_columns %}
    {{ column.name }} {{ column.type }} null default null,
    {% endfor %}
    primary key (archive_run_id, {{ target.key }})
) engine = InnoDB default charset = utf8mb4 collate = utf8mb4_unicode_ci
