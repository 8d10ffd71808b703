-- purpose: the oldest open transactions of other sessions, named in a lock-wait error (what may hold the table)
select
    x.trx_mysql_thread_id as thread_id,
    x.trx_started as started,
    x.trx_state as state
from information_schema.innodb_trx as x
where x.trx_mysql_thread_id <> connection_id()
order by x.trx_started
limit 5
