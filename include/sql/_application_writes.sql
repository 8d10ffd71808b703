-- purpose: (shared macros) which rows the application wrote while a run was going on
{#
  The application's change marker is the spec's updated_at_column (and created_at_column): a run never
  touches either, so a marker at or after the run's start means the application wrote the row meanwhile.
  The start is converted to the session's clock and taken one second early, because applications often
  store timestamps truncated to the second. With no marker column configured, no row counts as written by
  the application and the gates stay strict (run the backfill in a quiet window then).
#}
{% macro app_clock() -%}
app_clock as (
    select timestampadd(second, timestampdiff(second, utc_timestamp(), now()) - 1, r.started_at) as since
    from tenant_runs as r
    where r.run_no = {{ run_no | int }}
)
{%- endmacro %}
{% macro written_by_application(alias) -%}
{% if target.updated_at or target.created_at -%}
(
    {% if target.updated_at %}coalesce({{ alias }}.{{ target.updated_at }} >= (select since from app_clock) {{ not_the_runs_own(alias) }}, 0){% endif %}
    {% if target.updated_at and target.created_at %}or {% endif %}
    {% if target.created_at %}coalesce({{ alias }}.{{ target.created_at }} >= (select since from app_clock), 0){% endif %}
)
{%- else -%}
0
{%- endif %}
{%- endmacro %}
{# a row the application inserted during the run (its created_at marker): with a key not ordered by time, a
   UUIDv4, it can sort below the run's key bound, so only the marker tells it from a row that existed before #}
{% macro created_by_application(alias) -%}
{% if target.created_at -%}
coalesce({{ alias }}.{{ target.created_at }} >= (select since from app_clock), 0)
{%- else -%}
0
{%- endif %}
{%- endmacro %}
{# touch_updated_at: the marker the run itself wrote on a row (the audit holds it) is not the application's #}
{% macro not_the_runs_own(alias) -%}
{% if target.touched -%}
and not exists (
    select 1
    from tenant_audit_log as own
    join tenant_runs as own_run on own_run.run_id = own.run_id and own_run.table_name = own.table_name
    where own_run.run_no = {{ run_no | int }}
      and {{ bk_match("own", alias ~ "." ~ target.key) }}
      and own.action <> 'rollback'
      and cast(own.new_value as binary) = cast(cast({{ alias }}.{{ target.touched }} as char) as binary)
)
{%- endif %}
{%- endmacro %}
{# an update statement moves auto-updating columns (on-update timestamps) unless it assigns them: a run keeps them
   as they are; with touch_updated_at it sets the change marker to the chunk's clock (touch_clock.sql) instead #}
{% macro keep_auto_updated(alias) -%}
{% if target.touched %}, {{ alias }}.{{ target.touched }} = @tenant_touched_at{% endif %}
{% for column in auto_updated_columns %}, {{ alias }}.{{ column }} = {{ alias }}.{{ column }}{% endfor %}
{%- endmacro %}
