-- purpose: the declared foreign keys inside the connected schema, one row per column (composite keys have several)
select
    k.constraint_name as constraint_name,
    k.table_name as table_name,
    k.column_name as column_name,
    k.ordinal_position as ordinal_position,
    k.referenced_table_name as referenced_table_name,
    k.referenced_column_name as referenced_column_name
from information_schema.key_column_usage as k
join information_schema.referential_constraints as r
  on r.constraint_schema = k.constraint_schema
 and r.constraint_name = k.constraint_name
 and r.table_name = k.table_name
where k.table_schema = database()
  and k.referenced_table_schema = database()
  and k.referenced_table_name is not null
order by k.table_name, k.constraint_name, k.ordinal_position
