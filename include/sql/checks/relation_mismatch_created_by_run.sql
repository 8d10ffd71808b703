-- purpose: child rows whose tenant differs from their parent's, where the parent is a row this run wrote
-- (driven by the run's audit rows: a run writes a fraction of the table, so its children are a fraction too)
with written as (
    select distinct {{ as_target_key("a." ~ bk_key) }} as row_id
    from tenant_audit_log as a
    join tenant_runs as r on r.run_id = a.run_id and r.table_name = a.table_name
    where r.run_no = {{ run_no | int }}
      and a.action <> 'rollback'
)
select p.{{ target.key }} as row_id, p.{{ target.tenant }} as parent_tenant, c.{{ relation.tenant }} as child_tenant
from written as w
straight_join {batch} as p on p.{{ target.key }} = w.row_id
straight_join {{ relation.table }} as c on c.{{ relation.foreign_key }} = p.{{ target.key }}
where c.{{ relation.tenant }} <> p.{{ target.tenant }}
order by p.{{ target.key }}
