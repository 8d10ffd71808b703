-- purpose: the oldest open transactions of other sessions, named in a lock-wait error (what may hold the table);
-- sessions on this database first: on a busy server the server's oldest five need not include the holder
with open_transactions as (
    select
        x.trx_mysql_thread_id as thread_id,
        x.trx_started as started,
        x.trx_state as state,
        coalesce(p.db = database(), 0) as on_this_database
    from information_schema.innodb_trx as x
    left join information_schema.processlist as p on p.id = x.trx_mysql_thread_id
    where x.trx_mysql_thread_id <> connection_id()
)
select o.thread_id as thread_id, o.started as started, o.state as state
from open_transactions as o
order by o.on_this_database desc, o.started
limit 5
