-- purpose: every column of every base table of the connected schema (tenant tables, naming, soft delete, review columns)
select
    c.table_name as table_name,
    c.column_name as column_name,
    c.ordinal_position as ordinal_position,
    c.data_type as data_type,
    c.column_type as column_type,
    c.is_nullable as is_nullable
from information_schema.columns as c
join information_schema.tables as t
  on t.table_schema = c.table_schema
 and t.table_name = c.table_name
where c.table_schema = database()
  and t.table_type = 'BASE TABLE'
order by c.table_name, c.ordinal_position
