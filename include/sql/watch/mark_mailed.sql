-- purpose: the findings the mail just named are mailed: later watch hours record them but do not page again
update tenant_watch_findings
set mailed_at = utc_timestamp(6), mailed_by = %(watch_run_id)s
where spec = %(spec)s
  and run_no = %(run_no)s
  and resolved_hour is null
  and mailed_at is null
