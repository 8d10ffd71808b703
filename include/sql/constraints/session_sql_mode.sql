-- purpose: the sql_mode of this session: a non-strict MODIFY ... NOT NULL silently turns NULL into 0
select @@session.sql_mode as sql_mode
