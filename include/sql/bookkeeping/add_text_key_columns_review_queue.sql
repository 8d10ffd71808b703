-- purpose: upgrade a review queue made before text keys: a text key column beside row_id, in the primary key
alter table tenant_review_queue
    alter column row_id set default 0,
    add column row_key varchar(255) character set utf8mb4 collate utf8mb4_bin not null default '' after row_id,
    drop primary key,
    add primary key (spec, table_name, row_id, row_key)
