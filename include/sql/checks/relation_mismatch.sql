-- purpose: child rows whose tenant differs from their parent row's tenant (both known), in the whole table
-- (preflight lists them as older mismatches, the daily validation fails on them; post_validation checks
--  only the rows its run wrote: relation_mismatch_created_by_run.sql)
select p.{{ target.key }} as row_id, p.{{ target.tenant }} as parent_tenant, c.{{ relation.tenant }} as child_tenant
from {batch} as p
join {{ relation.table }} as c on c.{{ relation.foreign_key }} = p.{{ target.key }}
where c.{{ relation.tenant }} <> p.{{ target.tenant }}
order by p.{{ target.key }}
