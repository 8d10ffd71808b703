-- purpose: does the guard log table exist in the target database yet
select t.table_name as table_name
from information_schema.tables as t
where t.table_schema = database()
  and t.table_name = %(log_table)s
