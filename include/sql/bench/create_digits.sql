-- purpose: ten digits, the seed of every generated row (portable: no sequence engine, no recursion limits)
create table bench_digits (d tinyint unsigned not null primary key)
