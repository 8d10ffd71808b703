-- purpose: back up every column of the chunk's rows, keyed by run (rows this run backed up already keep that copy)
-- (no "where not exists" probe: its shared gap locks on the backup key made two workers' inserts deadlock;
-- a duplicate is rare, only a row the application set back to NULL mid-run, and keeps its first copy here)
{% from "_copy_chunk_rows.sql" import copy_chunk_rows with context %}
{{ copy_chunk_rows(backup_table, "backup_run_id", "backed_up_at") }}
on duplicate key update backed_up_at = {{ backup_table }}.backed_up_at
