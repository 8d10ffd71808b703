-- purpose: child rows whose tenant differs from their parent row's tenant (both known), in the whole table
-- (preflight lists them as older mismatches, the daily validation fails on them; post_validation checks
--  only the rows its run wrote: relation_mismatch_created_by_run.sql)
-- (SELECT STRAIGHT_JOIN, tables in FROM order: from the child: every child row is read once in its own table's order and finds its parent
--  by primary key; driven from the parent, each child costs a secondary-index probe plus a row lookup,
--  3x slower at 1M customers / 2.9M appointments — benchmarks/README.md)
select straight_join p.{{ target.key }} as row_id, p.{{ target.tenant }} as parent_tenant, c.{{ relation.tenant }} as child_tenant
from {{ relation.table }} as c
join {batch} as p on p.{{ target.key }} = c.{{ relation.foreign_key }}
where c.{{ relation.tenant }} <> p.{{ target.tenant }}
order by p.{{ target.key }}
