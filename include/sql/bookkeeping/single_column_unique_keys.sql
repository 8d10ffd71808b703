-- purpose: the columns that alone form a primary key or unique index, for spec validation
select s.table_name as table_name, min(s.column_name) as column_name
from information_schema.statistics as s
where s.table_schema = database()
  and s.table_name in %(tables)s
  and s.non_unique = 0
group by s.table_name, s.index_name
having count(*) = 1
