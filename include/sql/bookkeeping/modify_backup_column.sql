-- purpose: give a backup column the target column's current type, character set and collation (a backup compares equal to its row)
alter table {{ backup_table }} modify column {{ column.name }} {{ column.type }} null default null
