-- purpose: modified pages InnoDB has yet to write to disk (a contender timed while they flush pays for the other's writes)
-- (innodb_metrics, like history_length.sql: information_schema.global_status is gone from MySQL 8;
--  buffer_pool_pages_dirty is the same number as the status variable Innodb_buffer_pool_pages_dirty, enabled by default on both)
select m.count as dirty_pages
from information_schema.innodb_metrics as m
where m.name = 'buffer_pool_pages_dirty'
