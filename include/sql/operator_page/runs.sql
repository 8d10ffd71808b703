-- purpose: the newest registered runs (every spec and DAG, or one spec), newest first
select r.run_no, r.run_id, r.spec, r.dag_id, r.table_name, r.planned_changes, r.status, r.started_at, r.finished_at
from tenant_runs as r
where %(spec)s is null or r.spec = %(spec)s
order by r.run_no desc
limit %(limit)s
