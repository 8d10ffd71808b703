-- purpose: move the heartbeat to the primary's clock (UTC, microseconds), before a chunk and while the writers wait
insert into tenant_heartbeat (id, ts) values (1, utc_timestamp(6))
on duplicate key update ts = values(ts)
