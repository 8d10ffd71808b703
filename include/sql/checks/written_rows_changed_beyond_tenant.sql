-- purpose: rows this run wrote whose other columns no longer equal the backup taken just before the write
-- (the range checksum alone missed it: an application BEFORE UPDATE trigger that rewrote `phone` on each row the
--  run wrote changed 28 seed rows, and their CRC32s, XORed per range, cancelled out; row by row nothing cancels.
--  The columns compared are the checksum's: all but those a run writes. Rows the application wrote during the
--  run are left out, as in the other checks: the run's summary lists them)
{% from "_application_writes.sql" import app_clock, written_by_application with context %}
{% from "_same_value.sql" import same_value %}
with run as (
    select run_id from tenant_runs where run_no = {{ run_no | int }}
),
{{ app_clock() }}
select b.{{ target.key }} as row_id
from {{ backup_table }} as b
join {batch} as t on t.{{ target.key }} = b.{{ target.key }}
where b.backup_run_id = (select run_id from run)
  and not (1
      {% for column in fixed_columns %}
      and {{ same_value("t." ~ column, "b." ~ column) }}
      {% endfor %}
  )
  and not {{ written_by_application("t") }}
order by b.{{ target.key }}
