-- purpose: upgrade a checkpoint table made before text keys: text forms of last_key and until_key
alter table tenant_checkpoints
    alter column last_key set default 0,
    add column last_key_text varchar(255) character set utf8mb4 collate utf8mb4_bin null after until_key,
    add column until_key_text varchar(255) character set utf8mb4 collate utf8mb4_bin null after last_key_text
