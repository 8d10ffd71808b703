-- purpose: the open review rows this run owns, with the columns the reviewer sees
select
    q.{{ bk_key }} as row_id,
    q.reason,
    q.candidates
    {% for column in review_columns %}
    , t.{{ column }}
    {% endfor %}
from tenant_review_queue as q
join {{ target.table }} as t on t.{{ target.key }} = {{ as_target_key("q." ~ bk_key) }}
where q.spec = %(spec)s
  and q.table_name = %(table_name)s
  and q.last_run_no = %(run_no)s
  and q.status = 'open'
  and t.{{ target.tenant }} is null
order by q.{{ bk_key }}
