-- purpose: the findings of a watched run that on-call has not been told about, locked until the mail is sent
select check_name, row_ref, table_name, detail, appeared_at, first_seen_hour
from tenant_watch_findings
where spec = %(spec)s
  and run_no = %(run_no)s
  and resolved_hour is null
  and mailed_at is null
order by check_name, length(row_ref), row_ref
for update
