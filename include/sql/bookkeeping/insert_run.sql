-- purpose: register a real run with the numbers its gates will compare against
insert into tenant_runs
    (run_id, spec, dag_id, table_name, max_key_before, row_count_before, status, started_at)
select %(run_id)s, %(spec)s, %(dag_id)s, %(table_name)s, max(t.{{ target.key }}), count(*), 'running', utc_timestamp(6)
from {{ target.table }} as t
on duplicate key update status = 'running'
