-- purpose: back up every column of the chunk's rows, keyed by run (rows this run backed up already keep that copy)
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
from tenant_chunk_decisions as d
straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
where not exists (
    select 1
    from {{ backup_table }} as b
    where b.backup_run_id = %(run_id)s
      and b.{{ target.key }} = d.row_id
)
