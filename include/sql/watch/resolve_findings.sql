-- purpose: findings of a check that this watch run did not find again have gone away in this hour
update tenant_watch_findings
set resolved_hour = %(watch_hour)s
where spec = %(spec)s
  and run_no = %(run_no)s
  and check_name = %(check_name)s
  and resolved_hour is null
  and last_seen_by <> %(watch_run_id)s
