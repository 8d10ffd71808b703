-- purpose: the newest finished run of a spec and DAG, with its summary
select run_no, run_id, status, summary
from tenant_runs
where spec = %(spec)s and dag_id = %(dag_id)s and finished_at is not null
order by run_no desc
limit 1
