-- purpose: mark review rows as decided
update tenant_review_queue
set status = %(status)s, last_run_no = %(run_no)s, updated_at = utc_timestamp(6)
where spec = %(spec)s and table_name = %(table_name)s and row_id in %(ids)s
