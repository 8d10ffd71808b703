-- purpose: put every backed-up column of the chunk's rows back as it was before the run
update tenant_chunk_decisions as d
straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
straight_join {{ backup_table }} as b on b.backup_run_id = %(run_id)s and b.{{ target.key }} = d.row_id
set
    {% for column in restore_columns %}
    t.{{ column }} = b.{{ column }}{{ "," if not loop.last }}
    {% endfor %}
