-- purpose: the newest finished real tenant_backfill run of a spec, whose integrity the daily check re-proves
select max(run_no) as run_no
from tenant_runs
where spec = %(spec)s and dag_id = 'tenant_backfill' and finished_at is not null
