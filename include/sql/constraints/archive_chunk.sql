-- purpose: copy the chunk's rows into the archive table
insert into {{ archive_table }} (
    archive_run_id,
    archived_at
    {% for column in backup_columns %}
    , {{ column.name }}
    {% endfor %}
)
select
    %(run_id)s,
    utc_timestamp(6)
    {% for column in backup_columns %}
    , t.{{ column.name }}
    {% endfor %}
from tenant_chunk_decisions as d
straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
