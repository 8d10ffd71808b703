-- purpose: back up every column of the chunk's rows, keyed by run
insert into {{ backup_table }} (
    backup_run_id,
    backed_up_at
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
from {{ target.table }} as t
join tenant_chunk_decisions as d on d.row_id = t.{{ target.key }}
