-- purpose: does this user have SELECT on the table? (EXPLAIN checks privileges and reads no row)
explain select * from {{ table }} where false
