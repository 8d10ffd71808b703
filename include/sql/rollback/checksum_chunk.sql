-- purpose: pt-table-checksum style checksum of the chunk's rows, live and in the backup (must be equal)
-- (the chunk's scratch table drives both reads: the server has no statistics for a temporary table and
--  otherwise walked the backup's whole run prefix per chunk, a rollback slowing to a few rows a second)
select
    (
        select bit_xor(crc32(concat_ws('#', {% for c in all_columns %}t.{{ c }}, {% endfor %}
            concat({% for c in all_columns %}isnull(t.{{ c }}){{ ", " if not loop.last }}{% endfor %}))))
        from tenant_chunk_decisions as d
        straight_join {{ target.table }} as t on t.{{ target.key }} = d.row_id
    ) as live_checksum,
    (
        select bit_xor(crc32(concat_ws('#', {% for c in all_columns %}b.{{ c }}, {% endfor %}
            concat({% for c in all_columns %}isnull(b.{{ c }}){{ ", " if not loop.last }}{% endfor %}))))
        from tenant_chunk_decisions as d
        straight_join {{ backup_table }} as b on b.backup_run_id = %(run_id)s and b.{{ target.key }} = d.row_id
    ) as backup_checksum
