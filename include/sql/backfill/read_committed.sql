-- purpose: chunk sessions read committed rows without gap or next-key locks (the chunk's own rows are locked for update)
set session transaction isolation level read committed
