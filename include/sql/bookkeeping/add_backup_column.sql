-- purpose: keep the backup table in step when the application added a column to the target
alter table {{ backup_table }} add column {{ column.name }} {{ column.type }} null default null
