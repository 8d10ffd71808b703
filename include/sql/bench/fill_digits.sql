-- purpose: fill the digits table
insert into bench_digits (d) values (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)
