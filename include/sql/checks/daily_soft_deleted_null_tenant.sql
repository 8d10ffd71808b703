-- purpose: soft-deleted rows with a NULL tenant: harmless to isolation, but they block NOT NULL
select {{ target.key }} as row_id, {{ target.soft_delete or "null" }} as deleted_at
from {batch}
where {{ target.tenant }} is null
  and {{ deleted() }}
order by {{ target.key }}
