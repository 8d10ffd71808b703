-- purpose: the single-column primary key of each base table (a composite or missing primary key is left out)
select s.table_name as table_name, min(s.column_name) as column_name
from information_schema.statistics as s
where s.table_schema = database()
  and s.index_name = 'PRIMARY'
group by s.table_name
having count(*) = 1
