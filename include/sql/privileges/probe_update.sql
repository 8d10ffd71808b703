-- purpose: may this user write the tenant and soft-delete columns (and keep auto-updating ones)? (EXPLAIN checks column privileges, writes nothing)
{% from "_application_writes.sql" import keep_auto_updated with context %}
explain update {{ target.table }} as t
set t.{{ target.tenant }} = t.{{ target.tenant }}, t.{{ target.soft_delete }} = t.{{ target.soft_delete }}{{ keep_auto_updated("t") }}
where false
