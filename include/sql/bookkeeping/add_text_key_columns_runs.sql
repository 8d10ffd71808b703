-- purpose: upgrade a run registry made before text keys: the text form of max_key_before
alter table tenant_runs
    add column max_key_before_text varchar(255) character set utf8mb4 collate utf8mb4_bin null after max_key_before
