-- purpose: (shared) pt-table-checksum style checksum per key range over the columns a run may not change
-- (CONCAT_WS skips NULLs, so the ISNULL flags keep NULL and '' apart)
select
    floor(t.{{ target.key }} / {{ range_size | int }}) as range_no,
    min(t.{{ target.key }}) as range_lo,
    max(t.{{ target.key }}) as range_hi,
    count(*) as row_count,
    bit_xor(crc32(concat_ws('#',
        {% for c in fixed_columns %}t.{{ c }}, {% endfor %}
        concat({% for c in fixed_columns %}isnull(t.{{ c }}){{ ", " if not loop.last }}{% endfor %})
    ))) as checksum
