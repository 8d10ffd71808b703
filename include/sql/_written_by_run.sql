-- purpose: (shared macro) the keys of the target rows one run wrote, from its audit rows (a CTE body)
{#
  A post-run check that starts here reads a fraction of the table (the rows the run wrote) instead of
  all of it: the whole-table proofs are the daily validation's, and what was wrong before the run is
  preflight's warning.
#}
{% macro rows_written_by_run(run_no) -%}
select distinct {{ as_target_key("a." ~ bk_key) }} as row_id
from tenant_audit_log as a
join tenant_runs as r on r.run_id = a.run_id and r.table_name = a.table_name
where r.run_no = {{ run_no | int }}
  and a.action <> 'rollback'
{%- endmacro %}
