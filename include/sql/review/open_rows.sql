-- purpose: which of the given rows a review import may decide: open review rows of the spec, or rows
-- this import run itself decided in an earlier, interrupted attempt (%(run_no)s; null on a first attempt)
select q.{{ bk_key }} as row_id
from tenant_review_queue as q
where q.spec = %(spec)s
  and q.table_name = %(table_name)s
  and (q.status = 'open' or q.last_run_no = %(run_no)s)
{% if key_text %}
  and q.row_id = 0
{% endif %}
  and q.{{ bk_key }} in %(ids)s
