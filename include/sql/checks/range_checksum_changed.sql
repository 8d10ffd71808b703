-- purpose: key ranges whose never-changed columns differ from before the run (pt-table-checksum style)
-- (a range holding a row the application wrote during the run proves nothing either way: the summary lists it)
{% from "_application_writes.sql" import app_clock, written_by_application with context %}
with {{ app_clock() }},
now_ranges as (
    {% include "checksums/_range_checksum.sql" %}
    from {batch} as t
    where t.{{ target.key }} <= {{ as_target_key("(select " ~ bk_max_key ~ " from tenant_runs where run_no = " ~ (run_no | int) ~ ")") }}
    group by {{ key_range("t", range_size) }}
),
application_ranges as (
    select distinct {{ key_range("t", range_size) }} as range_no
    from {batch} as t
    where t.{{ target.key }} <= {{ as_target_key("(select " ~ bk_max_key ~ " from tenant_runs where run_no = " ~ (run_no | int) ~ ")") }}
      and {{ written_by_application("t") }}
)
select b.range_lo as row_id, b.range_hi, b.row_count as rows_before, n.row_count as rows_now
from tenant_range_checksums as b
left join now_ranges as n on n.range_no = b.range_no
where b.run_no = {{ run_no | int }}
  and not (b.checksum <=> n.checksum and b.row_count <=> n.row_count)
  and b.range_no not in (select range_no from application_ranges)
order by b.range_lo
