-- purpose: the server settings the benchmark ran with, written into its result
select
    version() as server_version,
    @@global.innodb_buffer_pool_size as buffer_pool_bytes,
    @@global.innodb_flush_log_at_trx_commit as flush_log_at_trx_commit
