-- purpose: rows created with a NULL tenant since the previous validation of this spec: new leaks (newest first)
with previous as (
    select max(v.started_at) as since
    from tenant_validation_runs as v
    where v.spec = (select spec from tenant_validation_runs where validation_no = {{ validation_no | int }})
      and v.validation_no < {{ validation_no | int }}
)
select
    {{ target.key }} as row_id,
    {{ target.created_at }} as created_at,
    min({{ target.created_at }}) over () as first_bad_created_at
from {batch}
where {{ target.tenant }} is null
  and {{ target.created_at }} > coalesce((select since from previous), timestamp '1970-01-02 00:00:00')
order by {{ target.created_at }} desc, {{ target.key }} desc
