-- purpose: one spec's registrations of a run id (one per DAG that used it), newest first, with the summary
select r.run_no, r.run_id, r.spec, r.dag_id, r.table_name, r.planned_changes, r.status, r.started_at, r.finished_at,
       r.summary
from tenant_runs as r
where r.spec = %(spec)s and r.run_id = %(run_id)s
order by r.run_no desc
