-- purpose: child rows whose tenant differs from the tenant of the parent row their foreign key names
-- (both known): how many, and the first few child keys (the limit is bound)
select
    {% if child_key %}
    c.{{ child_key }} as child_id,
    {% else %}
    null as child_id,
    {% endif %}
    count(*) over () as mismatches
from {{ child }} as c
where c.{{ child_tenant }} is not null
  and exists (
      select 1
      from {{ parent }} as p
      where p.{{ parent_key }} = c.{{ foreign_key }}
        and p.{{ parent_tenant }} is not null
        and p.{{ parent_tenant }} <> c.{{ child_tenant }}
  )
{% if child_key %}
order by c.{{ child_key }}
{% endif %}
limit %(sample)s
