-- purpose: register a real run with the numbers its gates will compare against
-- (a text key not ordered by time cannot tell a later insert by its key: rows_before then leaves out what
--  row_count_changed.sql leaves out, rows whose created_at marker is at or after the run's start less a second)
insert into tenant_runs
    (run_id, spec, dag_id, table_name, {{ bk_max_key }}, row_count_before, status, started_at)
select
    %(run_id)s, %(spec)s, %(dag_id)s, %(table_name)s,
    max(t.{{ target.key }}),
    {% if key_text and target.created_at %}
    sum(not coalesce(t.{{ target.created_at }} >= timestampadd(second, -1, now(6)), 0)),
    {% else %}
    count(*),
    {% endif %}
    'running', utc_timestamp(6)
from {{ target.table }} as t
on duplicate key update status = 'running'
