-- purpose: lock the rows of one chunk that the run changed (the chunk is a range of the audit's keys)
select count(*) as locked_rows
from {{ target.table }} as t
where {% if not key_text %}t.{{ target.key }} > %(lo)s
  and t.{{ target.key }} <= %(hi)s
  and {% endif %}t.{{ target.key }} in (
      select {{ as_target_key("a." ~ bk_key) }}
      from tenant_audit_log as a
      where a.run_id = %(run_id)s
        and a.table_name = %(table_name)s
        and a.{{ bk_key }} > %(lo)s
        and a.{{ bk_key }} <= %(hi)s
  )
for update