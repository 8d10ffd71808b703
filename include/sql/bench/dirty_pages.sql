-- purpose: modified pages InnoDB has yet to write to disk (a contender timed while they flush pays for the other's writes)
select variable_value as dirty_pages
from information_schema.global_status
where variable_name = 'Innodb_buffer_pool_pages_dirty'
