-- purpose: when a run started (UTC, as registered at preflight) and the report's own clock (UTC) as its end
select r.started_at as started_at, utc_timestamp(6) as ended_at
from tenant_runs as r
where r.run_no = %(run_no)s
