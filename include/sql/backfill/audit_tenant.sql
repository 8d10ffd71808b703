-- purpose: one audit row per tenant value the chunk is about to write (and per change marker it sets, with touch_updated_at)
{% from "_audit_touch.sql" import audit_touch with context %}
-- (the old value is NULL: the rows are locked with a NULL tenant, and the guarded write fails the chunk otherwise)
insert into tenant_audit_log
    (run_id, spec, table_name, {{ bk_key }}, column_name, old_value, new_value, action, source, created_at)
select
    %(run_id)s,
    %(spec)s,
    %(table_name)s,
    d.row_id,
    %(column_name)s,
    null,
    cast(d.tenant as char),
    %(action)s,
    coalesce(d.source_label, %(source)s),
    utc_timestamp(6)
from tenant_chunk_decisions as d
{{ audit_touch() }}
