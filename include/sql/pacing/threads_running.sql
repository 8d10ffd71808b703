-- purpose: the server's current load, read before every chunk (the throttle pauses above its limit)
-- (SHOW works on MySQL 8 and MariaDB alike; information_schema.global_status is gone from MySQL 8)
show global status like 'Threads_running'
