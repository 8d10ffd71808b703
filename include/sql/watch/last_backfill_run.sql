-- purpose: the newest real tenant_backfill run of a spec that succeeded, and how long ago it ended (the database clock)
select
    r.run_no,
    r.run_id,
    r.table_name,
    r.started_at,
    r.finished_at,
    timestampdiff(second, r.finished_at, utc_timestamp(6)) as seconds_since,
    r.summary
from tenant_runs as r
where r.spec = %(spec)s
  and r.dag_id = 'tenant_backfill'
  and r.status = 'succeeded'
  and r.finished_at is not null
order by r.finished_at desc, r.run_no desc
limit 1
