-- purpose: what the tenant column and the tenant key look like now
select
    c.table_name as table_name,
    c.column_name as column_name,
    c.column_type as column_type,
    c.data_type as data_type,
    c.is_nullable as is_nullable,
    c.column_comment as column_comment
from information_schema.columns as c
where c.table_schema = database()
  and ((c.table_name = %(table)s and c.column_name = %(column)s)
       or (c.table_name = %(tenant_table)s and c.column_name = %(tenant_key)s))
