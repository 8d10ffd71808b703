-- purpose: the chunk's restored rows that differ from their backup in any column (there must be none)
-- (row by row, byte for byte, not one checksum per chunk: a BIT_XOR of CRC32s is linear, and an application
--  BEFORE UPDATE trigger that prefixed `phone` on the 28 rows a rollback restored left that checksum unchanged.
--  The chunk's scratch table drives the reads: the server has no statistics for a temporary table and
--  otherwise walked the backup's whole run prefix per chunk, a rollback slowing to a few rows a second)
{% from "_same_value.sql" import same_value %}
select d.row_id
from tenant_chunk_decisions as d
straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
straight_join {{ backup_table }} as b on b.backup_run_id = %(run_id)s and b.{{ target.key }} = d.row_id
where not (1
    {% for column in all_columns %}
    and {{ same_value("t." ~ column, "b." ~ column) }}
    {% endfor %}
)
order by d.row_id
