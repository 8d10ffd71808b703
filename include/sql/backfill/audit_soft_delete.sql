-- purpose: one audit row per value the chunk is about to set on its orphans (the spec's orphans.set, and the change marker with touch_updated_at)
{% from "_audit_touch.sql" import audit_touch with context %}
insert into tenant_audit_log
    (run_id, spec, table_name, {{ bk_key }}, column_name, old_value, new_value, action, source, created_at)
{% for item in orphan_set %}
select
    %(run_id)s,
    %(spec)s,
    %(table_name)s,
    d.row_id,
    %({{ item.name_param }})s,
    cast(t.{{ item.column }} as char),
    cast(%({{ item.param }})s as char),
    %(action)s,
    coalesce(d.source_label, %(source)s),
    utc_timestamp(6)
from tenant_chunk_decisions as d
straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
where t.{{ target.tenant }} is null
  and not {{ deleted("t") }}
{{ "union all" if not loop.last }}
{% endfor %}
{{ audit_touch() }}
