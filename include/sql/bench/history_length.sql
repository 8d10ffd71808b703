-- purpose: undo records InnoDB has yet to purge (a contender timed while purge runs pays for the other's writes)
select count as history_length
from information_schema.innodb_metrics
where name = 'trx_rseg_history_len'
