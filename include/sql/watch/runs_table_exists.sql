-- purpose: has any real run ever registered in this database (tenant_runs exists)?
select count(*) as found
from information_schema.tables as t
where t.table_schema = database()
  and t.table_name = 'tenant_runs'
