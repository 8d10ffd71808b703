-- purpose: soft-deleted rows with a NULL tenant: harmless to isolation, but they block NOT NULL
select {{ target.key }} as row_id, {{ target.soft_delete }} as deleted_at
from {batch}
where {{ target.tenant }} is null
  and {{ target.soft_delete }} is not null
order by {{ target.key }}
