-- purpose: back up every column of the chunk's rows, keyed by run (rows this run backed up already keep that copy)
{% from "_copy_chunk_rows.sql" import copy_chunk_rows with context %}
{{ copy_chunk_rows(backup_table, "backup_run_id", "backed_up_at") }}
where not exists (
    select 1
    from {{ backup_table }} as b
    where b.backup_run_id = %(run_id)s
      and b.{{ target.key }} = d.row_id
)
