-- purpose: copy the chunk's rows into the archive table
{% from "_copy_chunk_rows.sql" import copy_chunk_rows with context %}
{{ copy_chunk_rows(archive_table, "archive_run_id", "archived_at") }}
