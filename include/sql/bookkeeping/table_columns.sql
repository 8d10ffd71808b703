-- purpose: the columns of the named tables in the connected schema, for spec validation
select
    c.table_name as table_name,
    c.column_name as column_name,
    c.data_type as data_type,
    c.column_type as column_type,
    c.is_nullable as is_nullable,
    c.ordinal_position as ordinal_position,
    c.extra as extra,
    c.character_set_name as character_set_name,
    c.collation_name as collation_name
from information_schema.columns as c
where c.table_schema = database()
  and c.table_name in %(tables)s
order by c.table_name, c.ordinal_position
