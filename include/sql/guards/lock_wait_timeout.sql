-- purpose: how long this session's DDL waits for the table's metadata lock before it gives up
set session lock_wait_timeout = %(seconds)s
