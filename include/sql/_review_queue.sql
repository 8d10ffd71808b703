-- purpose: (shared macro) the review rows people know of for one row of the run's table: such a row is no leak
{#
  Needs a CTE `run` with the run's spec and table_name. Open rows wait for a decision; skipped ones a
  reviewer chose to leave as they are. The caller keeps the rows with no match (`q.spec is null`).
#}
{% macro join_known_review_rows(alias) -%}
left join tenant_review_queue as q
    on {{ bk_match("q", alias ~ "." ~ target.key) }}
    and q.spec = (select spec from run)
    and q.table_name = (select table_name from run)
    and q.status in ('open', 'skipped')
{%- endmacro %}
