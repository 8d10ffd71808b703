-- purpose: soft-delete orphans (no row in any evidence or relation table) with the spec's orphans.set values;
-- a row already soft-deleted keeps its values; never without a backup row (joined)
-- (STRAIGHT_JOIN: the chunk's scratch table drives; left alone, the optimizer may walk every NULL row)
{% from "_application_writes.sql" import keep_auto_updated with context %}
update tenant_chunk_decisions as d
straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
straight_join {{ backup_table }} as b on b.backup_run_id = %(run_id)s and b.{{ target.key }} = d.row_id
set
    {% for item in orphan_set %}
    t.{{ item.column }} = %({{ item.param }})s{{ "," if not loop.last }}
    {% endfor %}
    {{ keep_auto_updated("t") }}
where t.{{ target.tenant }} is null
  and not {{ deleted("t") }}
