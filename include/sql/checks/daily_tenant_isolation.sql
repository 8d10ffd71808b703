-- purpose: per-tenant isolation proof: every row reachable from a tenant's related rows carries exactly that tenant
-- (rows reachable from two tenants, or carrying another tenant or none, are leaks across tenants)
with reached as (
    {% for relation in relations %}
    select c.{{ relation.foreign_key }} as row_id, c.{{ relation.tenant }} as tenant
    from {{ relation.table }} as c
    where c.{{ relation.tenant }} is not null
    {{ "union" if not loop.last }}
    {% endfor %}
),
reached_per_row as (
    select
        row_id,
        count(distinct tenant) as tenants_reaching,
        min(tenant) as only_tenant,
        group_concat(distinct tenant order by tenant separator ';') as reached_from
    from reached
    group by row_id
)
select t.{{ target.key }} as row_id, t.{{ target.tenant }} as carried_tenant, r.reached_from
from {batch} as t
join reached_per_row as r on r.row_id = t.{{ target.key }}
where r.tenants_reaching > 1
   or not (t.{{ target.tenant }} <=> r.only_tenant)
order by t.{{ target.key }}
