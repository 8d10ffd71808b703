-- purpose: mark review rows as decided
update tenant_review_queue
set status = %(status)s, last_run_no = %(run_no)s, updated_at = utc_timestamp(6)
where spec = %(spec)s and table_name = %(table_name)s {% if key_text %}and row_id = 0 {% endif %}and {{ bk_key }} in %(ids)s
