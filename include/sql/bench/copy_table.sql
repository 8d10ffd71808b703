-- purpose: copy one generated table into the other benchmark database (same data for both contenders)
insert into {{ copy_db }}.{{ table }} select * from {{ source_db }}.{{ table }}
