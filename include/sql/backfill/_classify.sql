-- purpose: (shared CTEs) decide, for every NULL-tenant row in one key range, what the evidence says
-- A row's outcome, in this order: the first source with usable evidence (tenant non-NULL and present
-- in the tenant table; soft-deleted evidence counts) decides -> one tenant T, several 'conflict'.
-- T is written ('backfill') only if no relation row (the spec's relations list) contradicts it: a relation
-- row naming a tenant that does not exist -> 'unknown_tenant', naming another existing tenant -> 'conflict'.
-- A parent source's related row is the row the target row points at (calls.customer_id -> customers).
-- No usable evidence: a named tenant that does not exist (evidence or relation row) -> 'unknown_tenant';
-- related rows naming no tenant -> 'no_tenant_evidence'; no row in any evidence or relation table -> 'orphan'.
{# the related rows of each NULL-tenant row for one source, with the tenant they name (both branches below) #}
{% macro evidence_rows(source, tenant_expr) %}
from null_rows as n
    {% if source.parent %}
    join {{ source.table }} as r on r.{{ source.parent.key }} = n.parent_{{ source.number | int }}
    {% else %}
    join {{ source.table }} as r on r.{{ source.foreign_key }} = n.row_id
    {% endif %}
    {% if source.through %}
    left join {{ source.through.table }} as l on l.{{ source.through.match_column }} = r.{{ source.through.column }}
    {% endif %}
    left join {{ tenant_table.table }} as tt on tt.{{ tenant_table.key }} = {{ tenant_expr }}
{%- endmacro %}
{% from "_application_writes.sql" import app_clock, written_by_application with context %}
{% set for_a_run = run_no is defined and run_no %}
with
{% if for_a_run %}
{{ app_clock() }},
{% endif %}
null_rows as (
    select
        t.{{ target.key }} as row_id,
        {{ deleted("t") }} as soft_deleted,
        {% for source in evidence if source.parent %}
        t.{{ source.parent.foreign_key }} as parent_{{ source.number | int }},
        {% endfor %}
        -- a real run leaves alone orphans the application wrote during the run: it is using them
        {{ written_by_application("t") if for_a_run else "0" }} as by_application
    from {{ target.table }} as t
    where t.{{ target.tenant }} is null
      and t.{{ target.key }} > %(lo)s
      and t.{{ target.key }} <= %(hi)s
),
{% for source in evidence %}
{% set tenant_expr = ('l.' ~ source.through.tenant) if source.through else ('r.' ~ source.tenant) %}
{% if with_candidates %}
named_{{ source.number }} as (
    -- one row per (row, tenant named by source {{ source.number }}), a NULL tenant included
    select
        n.row_id,
        {{ tenant_expr }} as tenant_value,
        count(*) as rows_naming,
        max(tt.{{ tenant_table.key }} is not null) as tenant_exists
    {{ evidence_rows(source, tenant_expr) }}
    group by n.row_id, {{ tenant_expr }}
),
source_{{ source.number }} as (
    select
        row_id,
        sum(rows_naming) as related_rows,
        sum(tenant_exists) as usable_tenants,
        min(case when tenant_exists = 1 then tenant_value end) as tenant,
        sum(tenant_value is not null and tenant_exists = 0) as unknown_tenants,
        group_concat(
            case when tenant_value is not null then concat(tenant_value, ':', rows_naming) end
            order by tenant_value separator ';'
        ) as candidates,
        group_concat(
            case when tenant_exists = 1 then concat(tenant_value, ':', rows_naming) end
            order by tenant_value separator ';'
        ) as usable_candidates
    from named_{{ source.number }}
    group by row_id
),
{% else %}
source_{{ source.number }} as (
    -- one aggregate per row: what writes need (3x cheaper than building the candidates list)
    select
        n.row_id,
        count(*) as related_rows,
        count(distinct case when tt.{{ tenant_table.key }} is not null then {{ tenant_expr }} end) as usable_tenants,
        min(case when tt.{{ tenant_table.key }} is not null then {{ tenant_expr }} end) as tenant,
        count(distinct case when {{ tenant_expr }} is not null and tt.{{ tenant_table.key }} is null
                            then {{ tenant_expr }} end) as unknown_tenants,
        null as candidates,
        null as usable_candidates
    {{ evidence_rows(source, tenant_expr) }}
    group by n.row_id
),
{% endif %}
{% endfor %}
{#
  The write passes (no candidates) read a relation that is also a direct evidence source of this pass from
  that source's aggregate instead of joining its rows a second time; plans and review list every relation.
#}
{% set rel = namespace(joined=[], served=[]) %}
{% for relation in relations %}
{% if not with_candidates and relation.served_by and relation.served_by <= evidence | length %}
{% set rel.served = rel.served + [relation.served_by] %}
{% else %}
{% set rel.joined = rel.joined + [relation] %}
{% endif %}
{% endfor %}
{% if rel.joined %}
relation_rows as (
    -- the tenant carried by every relation row of the chunk's NULL-tenant rows (a written tenant must agree)
    {% for relation in rel.joined %}
    select n.row_id, c.{{ relation.tenant }} as tenant_value
    from null_rows as n
    join {{ relation.table }} as c on c.{{ relation.foreign_key }} = n.row_id
    {{ "union all" if not loop.last }}
    {% endfor %}
),
relations_named as (
    select
        r.row_id,
        count(*) as related_rows,
        count(distinct case when r.tenant_value is not null and tt.{{ tenant_table.key }} is null
                            then r.tenant_value end) as unknown_tenants,
        min(case when tt.{{ tenant_table.key }} is not null then r.tenant_value end) as lowest_tenant,
        max(case when tt.{{ tenant_table.key }} is not null then r.tenant_value end) as highest_tenant,
        {% if with_candidates %}
        group_concat(distinct r.tenant_value order by r.tenant_value separator ';') as candidates
        {% else %}
        null as candidates
        {% endif %}
    from relation_rows as r
    left join {{ tenant_table.table }} as tt on tt.{{ tenant_table.key }} = r.tenant_value
    group by r.row_id
),
{% endif %}
{# a deciding tenant is contradicted when a relation row carries a tenant that does not exist, or another one #}
{% macro relation_unknown() -%}
(0{% if rel.joined %} + coalesce(rel.unknown_tenants, 0){% endif %}{% for k in rel.served %} + coalesce(s{{ k | int }}.unknown_tenants, 0){% endfor %}) > 0
{%- endmacro %}
{% macro relation_disagrees(tenant) -%}
(0{% if rel.joined %} or coalesce(rel.lowest_tenant <> {{ tenant }} or rel.highest_tenant <> {{ tenant }}, 0){% endif %}
{%- for k in rel.served %} or coalesce(s{{ k | int }}.usable_tenants > 1 or s{{ k | int }}.tenant <> {{ tenant }}, 0){% endfor %})
{%- endmacro %}
decided as (
    select
        n.row_id,
        n.soft_deleted,
        n.by_application,
        case
            {% for s in evidence %}
            when s{{ s.number }}.usable_tenants = 1 and {{ relation_unknown() }} then 'unknown_tenant'
            when s{{ s.number }}.usable_tenants = 1 and {{ relation_disagrees("s" ~ s.number ~ ".tenant") }} then 'conflict'
            when s{{ s.number }}.usable_tenants = 1 then 'backfill'
            when s{{ s.number }}.usable_tenants > 1 then 'conflict'
            {% endfor %}
            when {% for s in evidence %}coalesce(s{{ s.number }}.unknown_tenants, 0) + {% endfor %}{{ "coalesce(rel.unknown_tenants, 0)" if rel.joined else "0" }} > 0
                then 'unknown_tenant'
            when {% for s in evidence %}coalesce(s{{ s.number }}.related_rows, 0) + {% endfor %}{{ "coalesce(rel.related_rows, 0)" if rel.joined else "0" }} > 0
                then 'no_tenant_evidence'
            else 'orphan'
        end as outcome,
        case
            {% for s in evidence %}
            when s{{ s.number }}.usable_tenants > 0 then {{ s.number | int }}
            {% endfor %}
        end as source_no,
        case
            {% for s in evidence %}
            when s{{ s.number }}.usable_tenants > 0 then s{{ s.number }}.tenant
            {% endfor %}
        end as tenant,
        case
            {% for s in evidence %}
            -- contradicted by a relation row: every source's candidates and the relations' tenants, labelled
            when s{{ s.number }}.usable_tenants = 1
                 and ({{ relation_unknown() }} or {{ relation_disagrees("s" ~ s.number ~ ".tenant") }})
                then concat_ws(' '{% for o in evidence %}, concat('source{{ o.number | int }}=', s{{ o.number }}.candidates){% endfor %}{% if rel.joined %}, concat('relations=', rel.candidates){% endif %})
            when s{{ s.number }}.usable_tenants > 0 then s{{ s.number }}.usable_candidates
            {% endfor %}
            else coalesce(
                nullif(concat_ws(';'{% for s in evidence %}, s{{ s.number }}.candidates{% endfor %}), ''),
                {{ "concat('relations=', rel.candidates)" if rel.joined else "null" }}
            )
        end as candidates,
        -- later sources that name a different tenant than the deciding one: counted, never blocking
        case
            {% for s in evidence %}
            when s{{ s.number }}.usable_tenants = 1 then 0
                {% for later in evidence if later.number > s.number %}
                + coalesce(
                    s{{ later.number }}.usable_tenants > 1
                    or (s{{ later.number }}.usable_tenants = 1 and s{{ later.number }}.tenant <> s{{ s.number }}.tenant),
                    0
                )
                {% endfor %}
            {% endfor %}
            else 0
        end as disagreeing_sources
    from null_rows as n
    {% for s in evidence %}
    left join source_{{ s.number }} as s{{ s.number }} on s{{ s.number }}.row_id = n.row_id
    {% endfor %}
    {% if rel.joined %}
    left join relations_named as rel on rel.row_id = n.row_id
    {% endif %}
)
