-- purpose: the numbers 1..n
create table bench_seq (n int unsigned not null primary key)
