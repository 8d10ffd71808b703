-- purpose: the single-column primary keys of the named tables (a relation's child rows are named by theirs)
select s.table_name as table_name, min(s.column_name) as column_name
from information_schema.statistics as s
where s.table_schema = database()
  and s.table_name in %(tables)s
  and s.index_name = 'PRIMARY'
group by s.table_name
having count(*) = 1
