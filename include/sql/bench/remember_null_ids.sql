-- purpose: the ids that had a NULL tenant before either contender ran
create table bench_null_ids as select id from customers where company_id is null
