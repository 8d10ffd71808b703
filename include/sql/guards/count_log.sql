-- purpose: how many NULL tenants the log-mode guard recorded for one table
select count(*) as n
from {{ log_table }}
where table_name = %(table)s
