-- purpose: is statement-based binary logging on? (READ COMMITTED chunks need row-based or mixed logging)
select @@log_bin as log_bin, @@binlog_format as binlog_format
