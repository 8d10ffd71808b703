-- purpose: which of the given rows are open review rows of a spec (the import may only decide those)
select q.{{ bk_key }} as row_id
from tenant_review_queue as q
where q.spec = %(spec)s
  and q.table_name = %(table_name)s
  and q.status = 'open'
{% if key_text %}
  and q.row_id = 0
{% endif %}
  and q.{{ bk_key }} in %(ids)s
