-- purpose: one tenant_guard trigger on the target (mode fill, log or reject); BEGIN…END sent as one statement, no DELIMITER
create {% if create_or_replace %}or replace {% endif %}trigger {{ trigger }}
{{ "after" if after else "before" }} {{ "update" if update else "insert" }} on {{ target.table }} for each row{% if follows %} follows {{ follows }}{% endif %}

{{ label }}: begin
{% if reject %}
    declare tenant_guard_message varchar(128);
{% endif %}
    if new.{{ target.tenant }} is null{% if update %} and old.{{ target.tenant }} is not null{% endif %} then
{% if fill %}
        set new.{{ target.tenant }} = (
            select max(p.{{ parent.tenant }})
            from {{ parent.table }} as p
            join {{ tenant_table.table }} as t on t.{{ tenant_table.key }} = p.{{ parent.tenant }}
            where p.{{ parent.parent.key }} = new.{{ parent.parent.foreign_key }}
            having count(distinct p.{{ parent.tenant }}) = 1
        );
{% elif log %}
        insert into {{ log_table }} (table_name, column_name, row_id, row_key, event, connection_user, logged_at)
        values (%(table_name)s, %(column_name)s, {% if key_text %}0, new.{{ target.key }}{% else %}new.{{ target.key }}, ''{% endif %}, %(event)s, user(), utc_timestamp(6));
{% else %}
        set tenant_guard_message = left(concat(%(message)s, coalesce({% if update %}old.{{ target.key }}{% elif key_text %}new.{{ target.key }}{% else %}nullif(new.{{ target.key }}, 0){% endif %}, %(no_key)s), ')'), 128);
        signal sqlstate '45000' set message_text = tenant_guard_message;
{% endif %}
    end if;
end
