-- purpose: rows this run wrote whose tenant names no row of the tenant table
-- (older rows with an unknown tenant are preflight's warning, unknown_tenant_before_run, and the daily
--  validation's failure: this run neither wrote nor can repair them)
{% from "_written_by_run.sql" import rows_written_by_run with context %}
with written as (
    {{ rows_written_by_run(run_no) }}
)
select t.{{ target.key }} as row_id, t.{{ target.tenant }} as tenant
from written as w
straight_join {batch} as t on t.{{ target.key }} = w.row_id
left join {{ tenant_table.table }} as tt on tt.{{ tenant_table.key }} = t.{{ target.tenant }}
where t.{{ target.tenant }} is not null
  and tt.{{ tenant_table.key }} is null
order by t.{{ target.key }}
