-- purpose: a foreign key from the tenant column to the tenant table, if one exists already
select k.constraint_name as constraint_name
from information_schema.key_column_usage as k
where k.table_schema = database()
  and k.table_name = %(table)s
  and k.column_name = %(column)s
  and k.referenced_table_name = %(tenant_table)s
  and k.referenced_column_name = %(tenant_key)s
