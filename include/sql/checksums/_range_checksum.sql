-- purpose: (shared) pt-table-checksum style checksum per key range over the columns a run may not change
-- (CONCAT_WS skips NULLs, so the ISNULL flags keep NULL and '' apart. Each row's hash is 64 bits of its MD5,
--  not its CRC32: CRC32 is linear, so XORed over a range the same edit on an even number of rows can cancel
--  out — a trigger prefixing `phone` on the seed's 28 written rows left the CRC32 checksum unchanged)
select
    {{ key_range("t", range_size) }} as range_no,
    {% if key_text %}
    -- a text key's range is a hash bucket: its number stands for both ends
    {{ key_range("t", range_size) }} as range_lo,
    {{ key_range("t", range_size) }} as range_hi,
    {% else %}
    min(t.{{ target.key }}) as range_lo,
    max(t.{{ target.key }}) as range_hi,
    {% endif %}
    count(*) as row_count,
    bit_xor(cast(conv(left(md5(concat_ws('#',
        {% for c in fixed_columns %}t.{{ c }}, {% endfor %}
        concat({% for c in fixed_columns %}isnull(t.{{ c }}){{ ", " if not loop.last }}{% endfor %})
    )), 16), 16, 10) as unsigned)) as checksum
