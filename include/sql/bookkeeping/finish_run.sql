-- purpose: close a run with its status and summary
update tenant_runs
set status = %(status)s, summary = %(summary)s, finished_at = utc_timestamp(6)
where run_no = %(run_no)s
