-- purpose: active rows per tenant (the largest tenants, NULL included) for the run report's bar chart
select t.{{ target.tenant }} as tenant, count(*) as row_count
from {{ target.table }} as t
where not {{ deleted("t") }}
group by t.{{ target.tenant }}
order by count(*) desc
limit 25
