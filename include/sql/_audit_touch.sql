-- purpose: (shared macro) the audit row of the change marker a chunk sets on each of its rows (touch_updated_at)
{% macro audit_touch() -%}
{% if target.touched %}
union all
select
    %(run_id)s,
    %(spec)s,
    %(table_name)s,
    d.row_id,
    %(touched_column)s,
    cast(t.{{ target.touched }} as char),
    cast(@tenant_touched_at as char),
    %(action)s,
    coalesce(d.source_label, %(source)s),
    utc_timestamp(6)
from tenant_chunk_decisions as d
straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
{% endif %}
{%- endmacro %}
