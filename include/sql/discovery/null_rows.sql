-- purpose: how many rows of one tenant table have a NULL tenant, active and soft-deleted, and how many of the
-- active ones wait in the open review queue of a run (a person decides those, not another backfill)
select
    count(*) as null_rows,
    {% if soft_delete %}
    coalesce(sum(t.{{ soft_delete }} is not null), 0) as soft_deleted,
    {% else %}
    0 as soft_deleted,
    {% endif %}
    {% if review_queue and key %}
    coalesce(sum(
        {% if soft_delete %}t.{{ soft_delete }} is null and {% endif %}
        exists (
            select 1
            from tenant_review_queue as q
            where q.table_name = %(table_name)s
              and q.status = 'open'
              {% if text_key %}
              and q.row_id = 0 and q.row_key = convert(t.{{ key }} using utf8mb4) collate utf8mb4_bin
              {% else %}
              and q.row_id = t.{{ key }}
              {% endif %}
        )
    ), 0) as in_review
    {% else %}
    0 as in_review
    {% endif %}
from {{ table }} as t
where t.{{ tenant }} is null
