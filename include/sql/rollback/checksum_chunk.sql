-- purpose: pt-table-checksum style checksum of the chunk's rows, live and in the backup (must be equal)
select
    (
        select bit_xor(crc32(concat_ws('#', {% for c in all_columns %}t.{{ c }}, {% endfor %}
            concat({% for c in all_columns %}isnull(t.{{ c }}){{ ", " if not loop.last }}{% endfor %}))))
        from {{ target.table }} as t
        join tenant_chunk_decisions as d on d.row_id = t.{{ target.key }}
    ) as live_checksum,
    (
        select bit_xor(crc32(concat_ws('#', {% for c in all_columns %}b.{{ c }}, {% endfor %}
            concat({% for c in all_columns %}isnull(b.{{ c }}){{ ", " if not loop.last }}{% endfor %}))))
        from {{ backup_table }} as b
        join tenant_chunk_decisions as d on d.row_id = b.{{ target.key }}
        where b.backup_run_id = %(run_id)s
    ) as backup_checksum
