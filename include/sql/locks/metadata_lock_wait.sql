-- purpose: how long this session waits for a table's metadata lock before it gives up
-- (while an ALTER or CREATE TRIGGER waits, the application's statements on the table queue behind it)
set session lock_wait_timeout = %(seconds)s
