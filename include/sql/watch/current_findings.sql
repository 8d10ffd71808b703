-- purpose: the findings of one check as this watch run left them (its rows, first seen when, mailed or not)
select row_ref, table_name, detail, appeared_at, first_seen_hour, mailed_at
from tenant_watch_findings
where spec = %(spec)s
  and run_no = %(run_no)s
  and check_name = %(check_name)s
  and last_seen_by = %(watch_run_id)s
  and resolved_hour is null
order by length(row_ref), row_ref
