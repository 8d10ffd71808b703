-- purpose: may this user write every column a run writes (and keep auto-updating ones)? (EXPLAIN checks column privileges, writes nothing)
{% from "_application_writes.sql" import keep_auto_updated with context %}
explain update {{ target.table }} as t
set {% for column in written_columns %}t.{{ column }} = t.{{ column }}{{ ", " if not loop.last }}{% endfor %}{{ keep_auto_updated("t") }}
where false
