-- purpose: (shared macro) copy every column of the chunk's rows into a run-keyed copy table (backup or archive)
{% macro copy_chunk_rows(copy_table, run_column, time_column) %}
insert into {{ copy_table }} (
    {{ run_column }},
    {{ time_column }}
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
{% endmacro %}
