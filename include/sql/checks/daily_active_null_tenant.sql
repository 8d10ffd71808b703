-- purpose: active rows with a NULL tenant: each one escapes tenant isolation (newest first)
select
    {{ target.key }} as row_id,
    {% if target.created_at %}
    {{ target.created_at }} as created_at,
    min({{ target.created_at }}) over () as first_bad_created_at
    {% else %}
    null as created_at,
    null as first_bad_created_at
    {% endif %}
from {batch}
where {{ target.tenant }} is null
  and not {{ deleted() }}
order by {{ target.created_at if target.created_at else target.key }} desc, {{ target.key }} desc
