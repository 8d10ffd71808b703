-- purpose: child rows whose tenant differs from their parent's, where the parent is a row this run wrote
-- (driven by the run's audit rows: a run writes a fraction of the table, so its children are a fraction too)
{% from "_written_by_run.sql" import rows_written_by_run with context %}
with written as (
    {{ rows_written_by_run(run_no) }}
)
select p.{{ target.key }} as row_id, p.{{ target.tenant }} as parent_tenant, c.{{ relation.tenant }} as child_tenant
from written as w
join {batch} as p on p.{{ target.key }} = w.row_id  -- a plain join: GX then leaves the alias to us
straight_join {{ relation.table }} as c on c.{{ relation.foreign_key }} = p.{{ target.key }}
where c.{{ relation.tenant }} <> p.{{ target.tenant }}
order by p.{{ target.key }}
