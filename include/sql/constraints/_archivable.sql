-- purpose: (shared macro) a NULL-tenant row archive_orphans may move: soft-deleted, and no related row points to it
{% macro archivable(t) -%}
{{ deleted(t) }}
{% for relation in relations %}
and not exists (select 1 from {{ relation.table }} as c where c.{{ relation.foreign_key }} = {{ t }}.{{ target.key }})
{% endfor %}
{%- endmacro %}
