-- purpose: which of the project's bookkeeping tables exist yet (a database no real run has touched has none)
select t.table_name as table_name
from information_schema.tables as t
where t.table_schema = database()
  and t.table_name in %(tables)s
