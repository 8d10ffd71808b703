-- purpose: child rows whose tenant differs from their parent row's tenant (both known)
-- (a suite may narrow it to one run: run_scope "created" keeps the parent rows the run wrote,
--  "before" every other row; without it, every row counts, as in the daily validation and preflight)
{% set run_scope = run_scope | default(none) %}
select p.{{ target.key }} as row_id, p.{{ target.tenant }} as parent_tenant, c.{{ relation.tenant }} as child_tenant
from {batch} as p
join {{ relation.table }} as c on c.{{ relation.foreign_key }} = p.{{ target.key }}
where c.{{ relation.tenant }} <> p.{{ target.tenant }}
{% if run_scope %}
  and {{ "not exists" if run_scope == "before" else "exists" }} (
      select 1
      from tenant_audit_log as a
      join tenant_runs as r on r.run_id = a.run_id and r.table_name = a.table_name
      where r.run_no = {{ run_no | int }}
        and {{ bk_match("a", "p." ~ target.key) }}
        and a.action <> 'rollback'
  )
{% endif %}
order by p.{{ target.key }}
