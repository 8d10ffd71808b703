-- purpose: the newest rows the log-mode guard recorded for one table
select id, table_name, column_name, row_id, row_key, event, connection_user, logged_at
from {{ log_table }}
where table_name = %(table)s
order by id desc
limit %(limit)s
