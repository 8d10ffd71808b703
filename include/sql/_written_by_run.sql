-- purpose: (shared macro) the keys of the target rows one run wrote, from its audit rows (a CTE body)
{#
  A post-run check that starts here reads a fraction of the table (the rows the run wrote) instead of
  all of it: the whole-table proofs are the daily validation's, and what was wrong before the run is
  preflight's warning.
#}
{% macro rows_written_by_run(run_no) -%}
{# the run's (run_id, table_name) as scalar subqueries, not a join: the audit's run index then reads the run's
   rows in key order, so the gate's joins into the target walk its primary key in order (a quarter faster) #}
select distinct {{ as_target_key("a." ~ bk_key) }} as row_id
from tenant_audit_log as a
where a.run_id = (select run_id from tenant_runs where run_no = {{ run_no | int }})
  and a.table_name = (select table_name from tenant_runs where run_no = {{ run_no | int }})
  and a.action <> 'rollback'
{%- endmacro %}
